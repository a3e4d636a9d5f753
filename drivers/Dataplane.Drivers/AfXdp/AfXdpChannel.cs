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
/// The socket is bound in copy mode (XDP_COPY): the kernel copies each frame between the device's
/// buffers and the pool, once each way, and the dataplane copies nothing. Zero-copy mode would let
/// a NIC's DMA reach the pool itself, but it wants every chunk that crosses a 4 KiB page in pages
/// contiguous in DMA space (net/xdp/xsk_buff_pool.c, xp_check_dma_contiguity,
/// xp_desc_crosses_non_contig_pg): a 2,304-byte pool buffer often crosses one, the pool's pages are
/// mapped one by one (and through an IOMMU each gets its own address), and the kernel drops a
/// chunk that fails the check without a word (a fill-ring entry lost, a frame sent and never
/// completed). Copy mode makes the same one copy that a UMEM of our own in zero-copy mode made
/// between the UMEM and the pool, and none on veth, which has no zero copy anyway.
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
    /// wants: UMEM, ring sizes, mappings, bind to the queue in copy mode with need-wakeup, then the fill ring filled
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
            socket.Bind(_interfaceIndex, _queue, XdpBindFlags.UseNeedWakeup | XdpBindFlags.Copy);
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
        Interlocked.Increment(ref cache.Pool.FillRings);
        Receiver = new AfXdpReceiver(socket, umem, Counters, _port, _queue);
        Transmitter = new AfXdpTransmitter(socket, umem, Counters);
        Receiver.Refill(cache);
    }

    /// <summary>
    /// Closes the socket (it leaves the XSKMAP; unbinding waits until no receive is under way,
    /// xsk_unbind_dev), then gives the fill ring's buffers back to the pool. Frames sent and not
    /// yet completed are left to the kernel, which may still read them (a device that sends from
    /// the UMEM's pages, IFF_TX_SKB_NO_LINEAR): their buffers are not reused. Control path, with
    /// the queue's worker stopped (the engine stops its workers before it disposes the ports).
    /// </summary>
    public void Dispose()
    {
        Started = false;
        if (Socket is null)
            return;
        Socket.Dispose();
        Socket = null;
        _umem!.ReturnAllHeld();
        Interlocked.Decrement(ref _umem.Pool.FillRings);
    }
}
