using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.AfXdp;

/// <summary>
/// One queue of an <see cref="AfXdpPort"/>: an AF_XDP socket bound to queue <c>q</c> of the
/// interface, over a UMEM of its own, with its four rings (the kernel's
/// Documentation/networking/af_xdp.rst). The port owns it; the worker of the queue drives it
/// through an <see cref="AfXdpQueue"/>.
/// </summary>
/// <remarks>
/// <para>
/// UMEM layout: <see cref="ChunkCount"/> chunks of <see cref="ChunkSize"/> bytes; the first
/// <see cref="RingSize"/> are receive chunks, which only ever travel fill ring -> RX ring -> fill
/// ring, the rest transmit chunks, which travel free list -> TX ring -> completion ring -> free list.
/// As many chunks of each kind as its ring has entries, so neither the fill ring nor the completion
/// ring can ever be asked to hold more than it has room for.
/// </para>
/// <para>
/// One UMEM per queue rather than one shared by the port's sockets (XDP_SHARED_UMEM): each queue
/// belongs to one worker, and a UMEM of its own makes every chunk that worker's alone, with no
/// shared free list or ring between workers. Sharing saves memory only; on another queue a shared
/// socket still needs fill and completion rings of its own, so it would buy nothing else.
/// </para>
/// <para>
/// Frames are copied between the chunks and the worker's pool buffers, once each way, as the
/// afpacket driver copies out of its ring. Zero copy over the pool (the pool's memory registered
/// as the UMEM, buffers handed to the fill ring and straight up the stack) is the next step, not
/// done now: pool buffers are not power-of-two chunks (aligned mode wants them; unaligned mode
/// takes any address but then the pool's layout becomes the UMEM's contract), a buffer held up the
/// stack would starve the fill ring, and on veth and other drivers without zero copy the kernel
/// copies every frame into the UMEM anyway (copy mode), so the copy saved would be the cheaper one.
/// </para>
/// </remarks>
internal sealed class AfXdpChannel : IDisposable
{
    /// <summary>
    /// Bytes per chunk: a page, aligned mode's largest. Received frames start
    /// <see cref="XdpConstants.PacketHeadroom"/> in, so a frame of up to 3,840 bytes fits, more than
    /// native XDP on veth lets the MTU be (a frame must fit a page with the kernel's headroom).
    /// </summary>
    public const uint ChunkSize = 4096;

    /// <summary>Entries of each of the four rings.</summary>
    public const uint RingSize = 1024;

    /// <summary>Chunks in the UMEM: one per fill-ring entry, one per TX-ring entry.</summary>
    public const uint ChunkCount = 2 * RingSize;

    /// <summary>The longest frame a receive chunk takes: the chunk less the kernel's headroom.</summary>
    public const int ReceiveFrameRoom = (int)(ChunkSize - XdpConstants.PacketHeadroom);

    private AfXdpChannel(XdpSocket socket, PinnedMemory umem, ushort port, ushort queue)
    {
        Socket = socket;
        Umem = umem;
        ZeroCopy = socket.IsZeroCopy();
        Receiver = new AfXdpReceiver(socket, umem, Counters, port, queue);
        Transmitter = new AfXdpTransmitter(socket, umem, Counters);
    }

    /// <summary>The socket; its descriptor is readable when the RX ring is not empty.</summary>
    public XdpSocket Socket { get; }

    /// <summary>The packet memory the socket's rings point into.</summary>
    public PinnedMemory Umem { get; }

    /// <summary>Whether the kernel bound the socket in zero-copy mode (the driver fills the UMEM itself), not copy mode.</summary>
    public bool ZeroCopy { get; }

    /// <summary>The RX and fill rings' reader.</summary>
    public AfXdpReceiver Receiver { get; }

    /// <summary>The TX and completion rings' writer.</summary>
    public AfXdpTransmitter Transmitter { get; }

    /// <summary>The queue's counters, written by its worker.</summary>
    public QueueCounters Counters { get; } = new();

    /// <summary>Set by the port between Start and Stop; bursts do nothing outside.</summary>
    public volatile bool Started;

    /// <summary>
    /// Opens the socket and sets it up in the order the kernel wants: UMEM, ring sizes, mappings,
    /// bind to queue <paramref name="queue"/> of <paramref name="interfaceIndex"/> with need-wakeup
    /// (zero copy if the device has it, copy mode otherwise), then the fill ring filled. The caller
    /// enters the socket in the port's XSKMAP.
    /// </summary>
    public static AfXdpChannel Open(int interfaceIndex, ushort port, ushort queue)
    {
        PinnedMemory? umem = null;
        XdpSocket? socket = null;
        try
        {
            umem = HugePages.Allocate(ChunkSize * ChunkCount);
            socket = XdpSocket.Open();
            socket.RegisterUmem(umem, ChunkSize); // 8 MiB: a whole number of chunks, and of huge pages
            socket.SetRingSize(XdpRingKind.Fill, RingSize);
            socket.SetRingSize(XdpRingKind.Completion, RingSize);
            socket.SetRingSize(XdpRingKind.Rx, RingSize);
            socket.SetRingSize(XdpRingKind.Tx, RingSize);
            socket.MapRings();
            socket.Bind(interfaceIndex, queue, XdpBindFlags.UseNeedWakeup);
            var channel = new AfXdpChannel(socket, umem, port, queue);
            channel.Receiver.FillAll();
            return channel;
        }
        catch
        {
            socket?.Dispose();
            umem?.Dispose(); // after the socket: the kernel holds its pages until then
            throw;
        }
    }

    /// <summary>Closes the socket (it leaves the XSKMAP), then frees the UMEM.</summary>
    public void Dispose()
    {
        Started = false;
        Socket.Dispose();
        Umem.Dispose();
    }
}
