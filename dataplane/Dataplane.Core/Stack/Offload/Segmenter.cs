using Dataplane.Buffers;
using Dataplane.Wire;

namespace Dataplane.Stack.Offload;

/// <summary>
/// Software segmentation ("chop", the software half of TSO): cuts a TCP or UDP super-frame into
/// the segments a port that cannot segment, a path MTU, or this host's own input needs, one at a
/// time, each in fresh buffers from the worker's cache:
/// <code>
/// var chop = new Segmenter(cache, packet, layout, partial);
/// while (chop.TryNext(out PacketBuffer piece)) Send(piece);
/// chop.Finish(counters); // releases the super-frame, counts what the pool could not build
/// </code>
/// Allocates nothing managed: a ref struct on the caller's stack, reading the super-frame once,
/// front to back, through a cursor over its chain.
/// </summary>
/// <remarks>
/// The rules are Linux's (<c>tcp_gso_segment</c>, <c>inet_gso_segment</c>, <c>ipv6_gso_segment</c>,
/// <c>__udp_gso_segment</c>) and OpenBSD's (<c>tcp_chopper</c>): every segment carries a copy of the
/// headers; TCP's sequence number advances by the payload before it; PSH and FIN stay on the last
/// segment only and CWR on the first only (RFC 3168 6.1.2: CWR marks the first new segment after a
/// window reduction); an IPv4 segment gets the original identification plus its index (as Linux
/// does, RFC 6864 4.1 lets an atomic datagram's ID be anything) and its own total length and header
/// checksum, an IPv6 segment its payload length; a UDP segment (GSO_UDP_L4) is a datagram with its
/// own UDP length. The transport checksum is computed over each segment, or, when
/// <c>partial</c>, left for the port to finish: the pseudo-header sum in the field and
/// <see cref="OffloadFlags.L4ChecksumPartial"/> set (virtio's NEEDS_CSUM, what a port with
/// <c>TransmitChecksum</c> finishes for nothing, and what this host's input takes for intact data).
/// The super-frame's data was verified whole before (by the driver, or by
/// <see cref="SuperFrame.TryRead"/>), so no segment launders a corrupt frame.
/// </remarks>
internal ref struct Segmenter
{
    private const int EthernetHeader = EthernetFrame.FixedLength;

    private readonly BufferCache _cache;
    private readonly BufferPool _pool;
    private readonly PacketBuffer _frame;
    private readonly SuperFrame _layout;
    private readonly bool _partial;
    private readonly ushort _firstId;
    private readonly uint _firstSequence;
    private readonly TcpFlags _flags;
    private readonly ulong _pseudoHeader; // without the length, added per segment
    private PacketBuffer _source; // the buffer of the super-frame the next payload byte is in
    private int _sourceAt; // and where in its data
    private int _at; // the payload offset of the next segment
    private int _index;
    private bool _dry;

    /// <summary>A chop of the super-frame <paramref name="frame"/> laid out as <paramref name="layout"/>; <paramref name="partial"/> leaves each transport checksum for the port (or the input) to finish.</summary>
    public Segmenter(BufferCache cache, PacketBuffer frame, in SuperFrame layout, bool partial)
    {
        _cache = cache;
        _pool = cache.Pool;
        _frame = frame;
        _layout = layout;
        _partial = partial;
        Span<byte> data = _pool.Data(frame);
        if (!layout.IsIpv6)
        {
            Ipv4Packet.TryCreate(data[EthernetHeader..], layout.NetworkLength, out Ipv4Packet ip, out _);
            _firstId = ip.Identification;
        }
        if (layout.IsTcp)
        {
            TcpSegment.TryCreate(data[layout.TransportOffset..layout.HeadersLength], out TcpSegment tcp);
            _firstSequence = tcp.SequenceNumber;
            _flags = tcp.Flags;
        }
        _pseudoHeader = layout.PseudoHeaderSum(data, 0);
        _source = frame;
        _sourceAt = layout.HeadersLength;
    }

    /// <summary>Segments built so far.</summary>
    public readonly int Built => _index;

    /// <summary>Segments that will not be built: the pool ran dry before them (0 until it did).</summary>
    public readonly int NotBuilt => _dry ? _layout.Segments - _index : 0;

    /// <summary>
    /// Builds the next segment into <paramref name="piece"/>, which the caller then owns; false once
    /// every segment is built, or when the pool ran dry (then none after it is: see <see cref="NotBuilt"/>).
    /// </summary>
    public bool TryNext(out PacketBuffer piece)
    {
        piece = PacketBuffer.None;
        int payload = _layout.PayloadLength;
        if (_dry || _at >= payload)
            return false;
        int length = Math.Min(_layout.SegmentSize, payload - _at);
        int headers = _layout.HeadersLength;
        if (!FrameChain.TryAllocate(_cache, headers + length, out piece))
        {
            _dry = true;
            return false;
        }
        Span<byte> data = _pool.Data(piece); // the first buffer holds a data room, far more than any headers
        _pool.Data(_frame)[..headers].CopyTo(data);
        CopyPayload(piece, headers, length);
        bool first = _index == 0;
        bool last = _at + length == payload;
        int transportLength = headers - _layout.TransportOffset + length;
        WriteNetworkHeader(data, headers - EthernetHeader + length, transportLength);
        Span<byte> l4 = data[_layout.TransportOffset..headers];
        if (_layout.IsTcp)
        {
            TcpSegment.TryCreate(l4, out TcpSegment tcp);
            tcp.SequenceNumber = _firstSequence + (uint)_at;
            TcpFlags flags = _flags;
            if (!last)
                flags &= ~(TcpFlags.Psh | TcpFlags.Fin);
            if (!first)
                flags &= ~TcpFlags.Cwr;
            tcp.Flags = flags;
        }
        else
        {
            UdpDatagram.TryCreate(l4, _layout.TransportLength, out UdpDatagram udp, out _); // the copied length is the super-frame's
            udp.Length = (ushort)transportLength;
        }
        FillChecksum(piece, data, transportLength);
        CopyMetadata(piece);
        _at += length;
        _index++;
        return true;
    }

    /// <summary>Releases the super-frame and counts the segments built and those the pool could not build (then dropped).</summary>
    public readonly void Finish(StackCounters counters)
    {
        counters.Count(OffloadCounter.Segmented);
        counters.Add(OffloadCounter.SegmentsCreated, _index);
        if (NotBuilt > 0)
            counters.Add(OffloadCounter.NoBuffer, NotBuilt);
        _cache.Release(_frame);
    }

    /// <summary>Copies <paramref name="length"/> bytes of payload from the read cursor into <paramref name="piece"/> at <paramref name="into"/>, moving the cursor on.</summary>
    private void CopyPayload(PacketBuffer piece, int into, int length)
    {
        while (length > 0)
        {
            Span<byte> source = _pool.Data(_source);
            if (_sourceAt >= source.Length)
            {
                _sourceAt -= source.Length;
                _source = new PacketBuffer(_pool.Metadata(_source).Next);
                continue;
            }
            int n = Math.Min(length, source.Length - _sourceAt);
            FrameChain.Write(_pool, piece, into, source.Slice(_sourceAt, n));
            _sourceAt += n;
            into += n;
            length -= n;
        }
    }

    /// <summary>The IP header of a segment: its length, and for IPv4 its identification and header checksum.</summary>
    private readonly void WriteNetworkHeader(Span<byte> data, int networkLength, int transportLength)
    {
        Span<byte> l3 = data[EthernetHeader..];
        if (_layout.IsIpv6)
        {
            // No extension headers (SuperFrame refuses them): the payload is the transport segment.
            Ipv6Packet.TryCreate(l3, _layout.NetworkLength, out Ipv6Packet ip6, out _);
            ip6.PayloadLength = (ushort)transportLength;
            return;
        }
        Ipv4Packet.TryCreate(l3, _layout.NetworkLength, out Ipv4Packet ip, out _);
        ip.TotalLength = (ushort)networkLength;
        ip.Identification = (ushort)(_firstId + _index);
        ip.FillHeaderChecksum();
    }

    /// <summary>The transport checksum of a segment, whole or left partial.</summary>
    private readonly void FillChecksum(PacketBuffer piece, Span<byte> data, int transportLength)
    {
        Span<byte> field = data.Slice(_layout.TransportOffset + _layout.ChecksumOffset, sizeof(ushort));
        ulong pseudo = InternetChecksum.Add(_pseudoHeader, (uint)transportLength);
        ref BufferMetadata m = ref _pool.Metadata(piece);
        if (_partial)
        {
            // NEEDS_CSUM: the pseudo-header sum, not complemented, as Linux's __tcp_v4_send_check leaves it.
            InternetChecksum.Store(field, (ushort)InternetChecksum.FoldToUInt16(pseudo));
            m.Offload = OffloadFlags.Ipv4ChecksumVerified | OffloadFlags.L4ChecksumPartial;
            m.ChecksumStart = (ushort)_layout.TransportOffset;
            m.ChecksumOffset = (ushort)_layout.ChecksumOffset;
            return;
        }
        InternetChecksum.Store(field, 0);
        ushort checksum = InternetChecksum.Finish(FrameChain.Sum(_pool, piece, _layout.TransportOffset, transportLength, pseudo));
        // RFC 768: a computed zero goes out as all ones (zero means "none" for UDP; TCP does not care).
        InternetChecksum.Store(field, checksum == 0 && !_layout.IsTcp ? (ushort)0xFFFF : checksum);
        m.Offload = OffloadFlags.None; // complete: nothing left for a port to do
    }

    /// <summary>What a segment keeps of the super-frame's metadata: where it came in, when, and its flow hash.</summary>
    private readonly void CopyMetadata(PacketBuffer piece)
    {
        ref BufferMetadata from = ref _pool.Metadata(_frame);
        ref BufferMetadata to = ref _pool.Metadata(piece);
        to.Port = from.Port;
        to.Queue = from.Queue;
        to.Timestamp = from.Timestamp;
        to.RssHash = from.RssHash;
        to.Offload |= from.Offload & OffloadFlags.RssHashValid;
    }
}
