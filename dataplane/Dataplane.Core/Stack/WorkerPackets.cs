using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Wire;

namespace Dataplane.Stack;

/// <summary>
/// What every layer of one worker's stack does with buffers: take a fresh frame, set a frame's
/// length, trim it, forget what a driver said of it, drop it or consume it, and read a chain as
/// one span. One per worker, shared by its layers; besides references to the worker's pool and
/// context it owns only the scratch a chain is copied into.
/// </summary>
internal sealed class WorkerPackets(WorkerContext context)
{
    /// <summary>The length of the Ethernet header in front of every frame the stack builds.</summary>
    public const int EthernetHeader = EthernetFrame.FixedLength;

    /// <summary>Room for the longest frame in a chain: an IPv6 header and a payload of 65535 bytes behind an Ethernet header.</summary>
    private const int LinearRoom = EthernetHeader + Ipv6Packet.FixedLength + ushort.MaxValue;

    private readonly BufferPool _pool = context.Pool;
    private readonly byte[] _linear = GC.AllocateUninitializedArray<byte>(LinearRoom);

    /// <summary>The worker's context.</summary>
    public WorkerContext Context => context;

    /// <summary>The packet memory.</summary>
    public BufferPool Pool => _pool;

    /// <summary>
    /// A fresh single-buffer frame of <paramref name="length"/> bytes after the Ethernet header;
    /// returns the span after the Ethernet header, or an empty span when no buffer was left.
    /// </summary>
    public Span<byte> New(int length, out PacketBuffer packet)
    {
        int frameLength = EthernetHeader + length;
        if (frameLength > _pool.DataRoom || !context.Cache.TryAllocate(out packet))
        {
            packet = PacketBuffer.None;
            return default;
        }
        ref BufferMetadata m = ref _pool.Metadata(packet);
        m.DataLength = (ushort)frameLength;
        m.PacketLength = frameLength;
        return _pool.Data(packet)[EthernetHeader..];
    }

    /// <summary>Sets the frame length of a single-buffer packet (after trimming padding or rewriting in place).</summary>
    public void SetFrameLength(PacketBuffer packet, int frameLength)
    {
        ref BufferMetadata m = ref _pool.Metadata(packet);
        m.DataLength = (ushort)frameLength;
        m.PacketLength = frameLength;
    }

    /// <summary>Cuts a received frame, one buffer or a chain, to <paramref name="frameLength"/> bytes.</summary>
    public void Trim(PacketBuffer packet, int frameLength)
    {
        if (_pool.Metadata(packet).Segments == 1)
            SetFrameLength(packet, frameLength);
        else
            FrameChain.Trim(context.Cache, packet, frameLength);
    }

    /// <summary>A received buffer reused for a reply asks nothing of the driver: no partial checksum, no segmentation.</summary>
    public void ClearOffloads(PacketBuffer packet)
    {
        ref BufferMetadata m = ref _pool.Metadata(packet);
        m.Offload = OffloadFlags.None;
        m.Gso = GsoType.None;
        m.SegmentSize = 0;
    }

    /// <summary>Releases a packet that was dropped (the caller counts why).</summary>
    public void Drop(PacketBuffer packet) => context.Drop(packet);

    /// <summary>Releases a packet that was consumed, not dropped (a reply went out in another buffer, or it was absorbed).</summary>
    public void Consume(PacketBuffer packet) => context.Cache.Release(packet);

    /// <summary>Chains copied by <see cref="Linearize"/>, for tests: TCP takes its chains without one.</summary>
    public long LinearCopies { get; private set; }

    /// <summary>
    /// Copies the chain at <paramref name="head"/> into the worker's scratch and returns the copy,
    /// frame offsets unchanged. Valid until the next call: the input path that made it hands it up
    /// to one handler, which finishes with it before the next packet.
    /// </summary>
    public Span<byte> Linearize(PacketBuffer head)
    {
        LinearCopies++;
        int at = 0;
        for (PacketBuffer b = head; b.IsValid; b = new PacketBuffer(_pool.Metadata(b).Next))
        {
            Span<byte> data = _pool.Data(b);
            data.CopyTo(_linear.AsSpan(at));
            at += data.Length;
        }
        return _linear.AsSpan(0, at);
    }

    /// <summary>
    /// <paramref name="length"/> bytes of a frame from <paramref name="offset"/>: in its buffer, or,
    /// for a chain handed up through <see cref="Linearize"/>, in the linear copy.
    /// </summary>
    public ReadOnlySpan<byte> Contiguous(PacketBuffer packet, int offset, int length)
        => _pool.Metadata(packet).Segments == 1 ? _pool.Data(packet).Slice(offset, length) : _linear.AsSpan(offset, length);

    /// <summary>Writes the destination and source MAC addresses of a frame.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // every frame sent
    public static void WriteMacs(Span<byte> frame, MacAddress destination, MacAddress source)
    {
        EthernetFrame.TryCreate(frame, out EthernetFrame ethernet);
        ethernet.Destination = destination;
        ethernet.Source = source;
    }

    /// <summary>Writes the EtherType of a frame whose MAC addresses come later (from the neighbour cache).</summary>
    public static void SetEtherType(Span<byte> frame, EtherType type)
    {
        EthernetFrame.TryCreate(frame, out EthernetFrame ethernet);
        ethernet.EtherType = type;
    }

    /// <summary>Writes a whole Ethernet header.</summary>
    public static void WriteEthernet(Span<byte> frame, MacAddress destination, MacAddress source, EtherType type)
        => new EthernetFrame.Repr { Destination = destination, Source = source, EtherType = type }.Emit(frame);
}
