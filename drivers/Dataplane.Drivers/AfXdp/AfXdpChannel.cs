using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.AfXdp;

/// <summary>
/// One queue of an <see cref="AfXdpPort"/>: an AF_XDP socket bound to queue <c>q</c> of the
/// interface, with its four rings (the kernel's Documentation/networking/af_xdp.rst), over the
/// dataplane's buffer pool as its UMEM (<see cref="AfXdpUmem"/>). The port owns it; the worker of
/// the queue drives it through an <see cref="AfXdpQueue"/>. The socket is made when the engine
/// hands the queue its worker's cache (<see cref="Bind"/>): the pool is the UMEM, and the pool is
/// made after the ports are opened.
/// </summary>
/// <remarks>
/// <para>
/// One socket per queue, each registering the pool as a UMEM of its own rather than sharing one
/// (XDP_SHARED_UMEM): on another queue a shared socket still needs fill and completion rings of its
/// own, and the kernel a buffer pool of its own per queue, so sharing would buy nothing; the kernel
/// pins the same pages once more per socket.
/// </para>
/// <para>
/// Zero copy between the UMEM and the stack is the pool being the UMEM. Whether the kernel copies
/// between the device and the UMEM is the device driver's: veth copies (copy mode), a NIC with
/// AF_XDP zero copy does not. A chunk that crosses a 4 KiB page must be in pages that are
/// contiguous for a zero-copy driver's DMA (net/xdp/xsk_buff_pool.c, xp_desc_crosses_non_contig_pg),
/// which only huge pages promise here: on a pool not on huge pages the socket is bound in copy mode.
/// </para>
/// </remarks>
internal sealed class AfXdpChannel : IDisposable
{
    /// <summary>Entries of each of the four rings.</summary>
    public const uint RingSize = 1024;

    private readonly int _interfaceIndex;
    private readonly ushort _port;
    private readonly ushort _queue;
    private AfXdpUmem? _umem;

    /// <summary>Queue <paramref name="queue"/> of the interface, not bound yet.</summary>
    public AfXdpChannel(int interfaceIndex, ushort port, ushort queue)
    {
        _interfaceIndex = interfaceIndex;
        _port = port;
        _queue = queue;
    }

    /// <summary>The socket, once bound; its descriptor is readable when the RX ring is not empty.</summary>
    public XdpSocket? Socket { get; private set; }

    /// <summary>The UMEM: the pool, once bound.</summary>
    public AfXdpUmem? Umem => _umem;

    /// <summary>Whether the kernel bound the socket in zero-copy mode (the driver fills the UMEM itself), not copy mode.</summary>
    public bool ZeroCopy { get; private set; }

    /// <summary>The RX and fill rings' reader, once bound.</summary>
    public AfXdpReceiver? Receiver { get; private set; }

    /// <summary>The TX and completion rings' writer, once bound.</summary>
    public AfXdpTransmitter? Transmitter { get; private set; }

    /// <summary>The cache the queue receives into and releases to: its worker's.</summary>
    public BufferCache? Cache { get; private set; }

    /// <summary>The queue's counters, written by its worker.</summary>
    public QueueCounters Counters { get; } = new();

    /// <summary>Set by the port between Start and Stop; bursts do nothing outside.</summary>
    public volatile bool Started;

    /// <summary>
    /// Makes the socket over <paramref name="cache"/>'s pool and sets it up in the order the kernel
    /// wants: UMEM, ring sizes, mappings, bind to the queue with need-wakeup (zero copy if the
    /// device has it and the pool is on huge pages, copy mode otherwise), then the fill ring filled
    /// from <paramref name="cache"/>. Once; again with the same pool it does nothing. The caller
    /// enters the socket in the port's XSKMAP. Throws <see cref="NativeException"/> naming
    /// <paramref name="where"/>, with nothing left open.
    /// </summary>
    public void Bind(BufferCache cache, string where)
    {
        if (_umem is not null)
        {
            if (_umem.Pool != cache.Pool)
                throw new NativeException($"{where}: queue {_queue} is bound to another buffer pool");
            Cache = cache;
            return;
        }
        var umem = new AfXdpUmem(cache.Pool, where);
        XdpSocket? socket = null;
        try
        {
            socket = XdpSocket.Open();
            socket.RegisterUmem(umem.Start, umem.Length, umem.ChunkSize, umem.Headroom, XdpUmemFlags.UnalignedChunks);
            socket.SetRingSize(XdpRingKind.Fill, RingSize);
            socket.SetRingSize(XdpRingKind.Completion, RingSize);
            socket.SetRingSize(XdpRingKind.Rx, RingSize);
            socket.SetRingSize(XdpRingKind.Tx, RingSize);
            socket.MapRings();
            XdpBindFlags flags = XdpBindFlags.UseNeedWakeup | (cache.Pool.OnHugePages ? 0 : XdpBindFlags.Copy);
            socket.Bind(_interfaceIndex, _queue, flags);
            ZeroCopy = socket.IsZeroCopy();
        }
        catch (NativeException e)
        {
            socket?.Dispose();
            throw new NativeException($"{where}: queue {_queue}: {e.Message}", e);
        }
        Socket = socket;
        _umem = umem;
        Cache = cache;
        Receiver = new AfXdpReceiver(socket, umem, Counters, _port, _queue);
        Transmitter = new AfXdpTransmitter(socket, umem, Counters);
        Receiver.Refill(cache);
    }

    /// <summary>
    /// Closes the socket (it leaves the XSKMAP, and the kernel lets go of the pool's pages), then
    /// gives the buffers the kernel held back to the pool.
    /// </summary>
    public void Dispose()
    {
        Started = false;
        Socket?.Dispose();
        Socket = null;
        _umem?.ReturnAllHeld();
    }
}
