using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Ports;
using Dataplane.Wire;

namespace Dataplane.Stack.Offload;

/// <summary>
/// Software LRO, as OpenBSD 7.8's tcp_softlro (netinet/tcp_input.c) does it for ice, ixl and bnxt:
/// the TCP segments of a received burst are merged per flow into one super-frame, which the stack
/// takes as a port's LRO or GRO frame: a chain whose first buffer holds the Ethernet, IP and TCP
/// headers, the IP length covering the whole, <see cref="BufferMetadata.Gso"/> and
/// <see cref="BufferMetadata.SegmentSize"/> set, and the checksums marked verified.
/// </summary>
/// <remarks>
/// <para>A segment is a candidate (tcp_softlro_check) when its checksums are good, its IPv4 header
/// has no options and is no fragment (IPv6: no extension header), it carries payload, its flags are
/// ACK and at most PSH, and its options are none or timestamps alone (RFC 7323 appendix A's layout).
/// It joins the super-frame of its flow (same MAC addresses, IP addresses and ports, and the same
/// TOS or traffic class, TTL or hop limit, DF and flow label, as Linux's inet_gro_receive and
/// ipv6_gro_receive require) when its sequence number follows the last one's, its header length is
/// the same, its timestamps did not go backwards, and the whole stays within the 16-bit IP length
/// field and 255 buffers. The super-frame takes PSH from any part, the ACK, window and timestamps
/// from the last, and the largest payload as its segment size, so that chopping it again keeps
/// every piece within what crossed the link (OpenBSD's ph_mss).</para>
/// <para>Merging is by chaining: a later segment's buffers are appended to the first one's chain,
/// its headers skipped by moving its data offset; no payload byte is copied. A frame that is not a
/// candidate passes through untouched, and ends its flow's super-frame (a later segment starts a
/// new one), so no flow is ever reordered: a super-frame stands where its first segment stood, and
/// whatever of its flow came after it is still after it.</para>
/// <para>Checksums: OpenBSD merges only what the hardware verified. Here a segment whose driver did
/// not vouch for it is summed in software (counted): a port without checksum offload would
/// otherwise never merge, and the sum is paid once either way, since TCP input would verify every
/// segment it takes (and a forwarded super-frame is chopped with fresh checksums, so a segment that
/// was bad must never be merged). A partial checksum (virtio-net's NEEDS_CSUM) is a frame that never
/// crossed a wire, as good as verified (Linux's CHECKSUM_PARTIAL on receive).</para>
/// <para>State is fixed-size per worker (one flow record per frame of a burst), made once; a burst
/// allocates nothing, throws nothing and takes no lock. Only this worker's thread calls it.</para>
/// </remarks>
internal sealed class SoftLro : IReceiveMerger
{
    /// <summary>The largest value of the IPv4 total length and IPv6 payload length fields: 64 KiB less one.</summary>
    public const int MaxIpLength = ushort.MaxValue;

    // RFC 7323 appendix A: NOP, NOP, kind 8, length 10, the layout every stack sends and the only
    // one tcp_softlro_check takes (TCPOPT_TSTAMP_HDR).
    private const uint TimestampsLayout = 0x0101080A;
    private const int TimestampsOptionsLength = 12;

    private readonly BufferPool _pool;
    private readonly BufferCache _cache;
    private readonly StackCounters _counters;
    private readonly Flow[] _flows;
    private int _open;

    /// <summary>The merger of worker <paramref name="context"/>, counting into <paramref name="counters"/>; holds up to <paramref name="flows"/> flows per burst.</summary>
    public SoftLro(WorkerContext context, StackCounters counters, int flows = WorkerContext.BurstSize)
    {
        _pool = context.Pool;
        _cache = context.Cache;
        _counters = counters;
        _flows = new Flow[flows];
    }

    /// <inheritdoc/>
    public int Merge(Span<PacketBuffer> burst, OffloadReport checksum)
    {
        int kept = 0;
        for (int i = 0; i < burst.Length; i++)
        {
            PacketBuffer packet = burst[i];
            switch (Classify(packet, checksum, out Segment s))
            {
                case Verdict.Candidate:
                    if (Join(packet, s))
                        continue; // now part of its flow's super-frame, which stands earlier in the burst
                    break;
                case Verdict.NotMerged:
                    EndFlows(s.Key, s.PortsKnown);
                    break;
            }
            burst[kept++] = packet;
        }
        for (int f = 0; f < _open; f++)
            Finish(ref _flows[f]);
        _open = 0;
        return kept;
    }

    // Appends the candidate to its flow's super-frame; false when it starts one (or no flow record
    // is free: then it goes on alone) and stays where it is in the burst.
    private bool Join(PacketBuffer packet, in Segment s)
    {
        int f = Find(s.Key);
        if (f >= 0)
        {
            ref Flow flow = ref _flows[f];
            LroCounter why = Follows(flow, s);
            if (why == NoRuleBroken)
            {
                Append(ref flow, packet, s);
                return true;
            }
            _counters.Count(why);
            End(f); // the flow's next super-frame starts with this segment
        }
        if (_open < _flows.Length)
            Start(ref _flows[_open++], packet, s);
        return false;
    }

    // The flow's next segment in every respect (tcp_softlro_check's comparison of head and tail), or the first rule it breaks.
    private const LroCounter NoRuleBroken = (LroCounter)(-1);

    private LroCounter Follows(in Flow flow, in Segment s)
    {
        if (s.IpFields != flow.IpFields)
            return LroCounter.IpFields;
        if (s.TcpHeaderLength != flow.TcpHeaderLength)
            return LroCounter.HeaderLength;
        if (s.Sequence != flow.NextSequence)
            return LroCounter.Sequence;
        // RFC 7323 5.3: a timestamp is never older than the last (PAWS compares in sequence space).
        if (flow.HasTimestamps && ((int)(s.TsValue - flow.TsValue) < 0 || (int)(s.TsEchoReply - flow.TsEchoReply) < 0))
            return LroCounter.Timestamps;
        if (flow.LengthField + s.Payload > MaxIpLength || _pool.Metadata(flow.Head).Segments + s.Buffers > byte.MaxValue)
            return LroCounter.Full;
        return NoRuleBroken;
    }

    private int Find(in FlowKey key)
    {
        for (int f = 0; f < _open; f++)
        {
            if (_flows[f].Key.Equals(key))
                return f;
        }
        return -1;
    }

    // A frame of a flow that cannot be merged ends that flow's super-frame; one whose ports are not
    // known (a fragment, extension headers) ends every flow between its two addresses.
    private void EndFlows(in FlowKey key, bool portsKnown)
    {
        for (int f = _open - 1; f >= 0; f--)
        {
            if (portsKnown ? _flows[f].Key.Equals(key) : _flows[f].Key.SameAddresses(key))
                End(f);
        }
    }

    // Finishes flow f and frees its record (the last open one moves into its place: order among the
    // records does not matter, the super-frames stand in the burst).
    private void End(int f)
    {
        Finish(ref _flows[f]);
        _flows[f] = _flows[--_open];
    }

    private void Start(ref Flow flow, PacketBuffer packet, in Segment s)
    {
        flow = new Flow
        {
            Key = s.Key,
            Head = packet,
            Tail = PacketBuffer.None, // found at the first append, after the padding is cut
            Parts = 1,
            Ipv6 = s.Ipv6,
            IpFields = s.IpFields,
            TransportOffset = s.TransportOffset,
            TcpHeaderLength = s.TcpHeaderLength,
            LengthField = s.LengthField,
            FrameLength = s.FrameLength,
            NextSequence = s.Sequence + (uint)s.Payload,
            Acknowledgment = s.Acknowledgment,
            Window = s.Window,
            Push = s.Push,
            HasTimestamps = s.HasTimestamps,
            TsValue = s.TsValue,
            TsEchoReply = s.TsEchoReply,
            LargestPayload = s.Payload,
        };
    }

    // Chains the segment's payload behind the flow's super-frame: its headers are skipped by moving
    // the data offset of its first buffer (which leaves the chain when nothing else is in it).
    private void Append(ref Flow flow, PacketBuffer packet, in Segment s)
    {
        if (flow.Parts == 1)
        {
            // The first segment: cut Ethernet padding (a short segment's) before anything goes behind it.
            FrameChain.Trim(_cache, flow.Head, flow.FrameLength);
            flow.Tail = LastBuffer(flow.Head);
        }
        FrameChain.Trim(_cache, packet, s.FrameLength);
        ref BufferMetadata m = ref _pool.Metadata(packet);
        int headers = s.TransportOffset + s.TcpHeaderLength; // in the first buffer: Classify made sure
        m.DataOffset += (ushort)headers;
        m.DataLength -= (ushort)headers;
        m.PacketLength -= headers;
        int buffers = m.Segments;
        PacketBuffer piece = packet;
        if (m.DataLength == 0)
        {
            // Headers only: the payload starts in the next buffer, and this one goes back on its own.
            piece = new PacketBuffer(m.Next);
            m.Next = -1;
            _cache.Release(packet);
            buffers--;
        }
        _pool.Metadata(flow.Tail).Next = piece.Index;
        flow.Tail = LastBuffer(piece);
        ref BufferMetadata head = ref _pool.Metadata(flow.Head);
        head.PacketLength += s.Payload;
        head.Segments += (byte)buffers;

        flow.Parts++;
        flow.LengthField += s.Payload;
        flow.FrameLength += s.Payload;
        flow.NextSequence += (uint)s.Payload;
        // tcp_softlro: PSH from any part; the acknowledgment, window and timestamps from the last.
        flow.Push |= s.Push;
        flow.Acknowledgment = s.Acknowledgment;
        flow.Window = s.Window;
        flow.TsValue = s.TsValue;
        flow.TsEchoReply = s.TsEchoReply;
        flow.LargestPayload = Math.Max(flow.LargestPayload, s.Payload);
        _counters.Count(LroCounter.SegmentsMerged);
    }

    private PacketBuffer LastBuffer(PacketBuffer buffer)
    {
        for (int next = _pool.Metadata(buffer).Next; next >= 0; next = _pool.Metadata(buffer).Next)
            buffer = new PacketBuffer(next);
        return buffer;
    }

    // Writes the super-frame's headers: the IP length over the whole (and the IPv4 header checksum),
    // the last segment's acknowledgment, window and timestamps, PSH from any, and the metadata of a
    // super-frame. A flow of one segment is left as it came.
    private void Finish(ref Flow flow)
    {
        if (flow.Parts < 2)
            return;
        ref BufferMetadata h = ref _pool.Metadata(flow.Head);
        Span<byte> first = _pool.Data(flow.Head);
        int chain = h.PacketLength - EthernetFrame.FixedLength;
        Span<byte> network = first[EthernetFrame.FixedLength..];
        ulong pseudo;
        int transportLength = flow.FrameLength - flow.TransportOffset;
        if (flow.Ipv6)
        {
            // Both views were made over these bytes when the first segment came in: they cannot fail.
            Ipv6Packet.TryCreate(network, chain, out Ipv6Packet ip, out _);
            ip.PayloadLength = (ushort)flow.LengthField;
            pseudo = InternetChecksum.PseudoHeaderSum(ip.Source, ip.Destination, (byte)IpProtocol.Tcp, transportLength);
            h.Gso = GsoType.TcpV6;
        }
        else
        {
            Ipv4Packet.TryCreate(network, chain, out Ipv4Packet ip, out _);
            ip.TotalLength = (ushort)flow.LengthField;
            ip.FillHeaderChecksum();
            pseudo = InternetChecksum.PseudoHeaderSum(ip.Source, ip.Destination, (byte)IpProtocol.Tcp, transportLength);
            h.Gso = GsoType.TcpV4;
        }
        TcpSegment.TryCreate(first.Slice(flow.TransportOffset, flow.TcpHeaderLength), out TcpSegment tcp);
        tcp.AcknowledgmentNumber = flow.Acknowledgment;
        tcp.Window = flow.Window;
        if (flow.Push)
            tcp.SetFlags(TcpFlags.Psh, on: true);
        if (flow.HasTimestamps && TcpTimestampsOption.TryCreate(tcp.Options[2..], out TcpTimestampsOption ts))
        {
            ts.Value = flow.TsValue;
            ts.EchoReply = flow.TsEchoReply;
        }
        // The pseudo-header sum, as a super-frame with a partial checksum carries it (virtio-net's
        // NEEDS_CSUM, Linux's tcp_gro_complete): what a port that segments, or the chop, completes.
        tcp.Checksum = (ushort)InternetChecksum.FoldToUInt16(pseudo);
        h.ChecksumStart = (ushort)flow.TransportOffset;
        h.ChecksumOffset = 16;
        h.SegmentSize = (ushort)flow.LargestPayload;
        // Every part was verified (or partial: never crossed a wire), so the whole is.
        h.Offload = (h.Offload & ~ReceiveFacts.ChecksumFlags) | OffloadFlags.L4ChecksumVerified
            | (flow.Ipv6 ? OffloadFlags.None : OffloadFlags.Ipv4ChecksumVerified);
        _counters.Count(LroCounter.SuperFrames);
    }

    // What a frame is to the merger, and what of it the rules need (tcp_softlro_check).
    private Verdict Classify(PacketBuffer packet, OffloadReport checksum, out Segment s)
    {
        s = default;
        ref BufferMetadata m = ref _pool.Metadata(packet);
        Span<byte> first = _pool.Data(packet);
        if (!EthernetFrame.TryCreate(first, out EthernetFrame eth))
            return Verdict.Other;
        s.Key.Destination = eth.Destination;
        s.Key.Source = eth.Source;
        int chain = m.PacketLength - EthernetFrame.FixedLength;
        LroCounter why = NoRuleBroken;
        Verdict network = eth.EtherType switch
        {
            EtherType.Ipv4 => ReadIpv4(eth.Payload, chain, m, checksum, ref s, ref why),
            EtherType.Ipv6 => ReadIpv6(eth.Payload, chain, ref s),
            _ => Verdict.Other, // ARP, a VLAN tag: not a flow this merges
        };
        if (network != Verdict.Candidate)
            return network;
        int transportLength = s.FrameLength - s.TransportOffset;
        if (m.PacketLength < s.FrameLength || first.Length < s.TransportOffset + TcpSegment.FixedLength
            || !TcpSegment.TryCreate(first.Slice(s.TransportOffset, Math.Min(first.Length - s.TransportOffset, transportLength)), out TcpSegment tcp)
            || tcp.HeaderLength > transportLength)
            return Verdict.Other; // truncated: TCP input counts it
        s.PortsKnown = true;
        s.Key.Ports = (uint)tcp.SourcePort << 16 | tcp.DestinationPort;
        s.TcpHeaderLength = tcp.HeaderLength;
        s.Payload = transportLength - tcp.HeaderLength;
        s.Buffers = m.Segments;
        s.Sequence = tcp.SequenceNumber;
        s.Acknowledgment = tcp.AcknowledgmentNumber;
        s.Window = tcp.Window;
        TcpFlags flags = tcp.Flags;
        s.Push = (flags & TcpFlags.Psh) != 0;
        if (why == NoRuleBroken)
        {
            if (m.Gso != GsoType.None || m.ReferenceCount != 1)
                return Verdict.NotMerged; // merged already by the port, or held elsewhere too: not ours to change
            if ((flags & ~(TcpFlags.Ack | TcpFlags.Psh)) != 0 || (flags & TcpFlags.Ack) == 0)
                why = LroCounter.Flags;
            else if (!TryTimestamps(tcp, ref s))
                why = LroCounter.TcpOptions;
            else if (s.Payload == 0)
                why = LroCounter.NoPayload;
            else if (!TransportChecksumGood(packet, m, checksum, s))
                why = LroCounter.BadChecksum;
        }
        if (why != NoRuleBroken)
        {
            _counters.Count(why);
            return Verdict.NotMerged;
        }
        return Verdict.Candidate;
    }

    // The IPv4 header's part of tcp_softlro_check: TCP, no fragment, no options, a good header checksum.
    // Candidate: read on to the TCP header (with why set, to count the rule the header broke).
    private Verdict ReadIpv4(Span<byte> network, int chain, in BufferMetadata m, OffloadReport checksum, ref Segment s, ref LroCounter why)
    {
        if (!Ipv4Packet.TryCreate(network, chain, out Ipv4Packet ip, out _) || ip.Protocol != IpProtocol.Tcp)
            return Verdict.Other; // not TCP, or a header IP input will count as bad
        s.Key.SourceAddress = Ipv6Address.MapIpv4(ip.Source);
        s.Key.DestinationAddress = Ipv6Address.MapIpv4(ip.Destination);
        if (ip.FragmentOffset != 0 || ip.HasFlags(Ipv4Flags.MoreFragments))
        {
            _counters.Count(LroCounter.IpOptions);
            return Verdict.NotMerged; // its ports are not known: it ends every flow between these addresses
        }
        if (ip.HeaderLength != Ipv4Packet.FixedLength)
            why = LroCounter.IpOptions; // still read on: its ports say which flow it ends
        else if ((ChecksumState(m, checksum) & OffloadFlags.Ipv4ChecksumVerified) == 0 && !ip.VerifyHeaderChecksum())
            why = LroCounter.BadChecksum;
        s.TransportOffset = EthernetFrame.FixedLength + ip.HeaderLength;
        s.LengthField = ip.TotalLength;
        s.FrameLength = EthernetFrame.FixedLength + ip.TotalLength;
        s.IpFields = (ulong)ip.Dscp << 24 | (ulong)ip.Ecn << 16 | (ulong)ip.TimeToLive << 8 | (ulong)(ip.Flags & Ipv4Flags.DontFragment);
        return Verdict.Candidate;
    }

    // The IPv6 header's part of tcp_softlro_check: TCP right behind the fixed header.
    private Verdict ReadIpv6(Span<byte> network, int chain, ref Segment s)
    {
        if (!Ipv6Packet.TryCreate(network, chain, out Ipv6Packet ip, out _))
            return Verdict.Other;
        s.Ipv6 = true;
        s.Key.SourceAddress = ip.Source;
        s.Key.DestinationAddress = ip.Destination;
        if (ip.NextHeader != IpProtocol.Tcp)
        {
            if (!IsExtensionHeader(ip.NextHeader))
                return Verdict.Other;
            _counters.Count(LroCounter.IpOptions);
            return Verdict.NotMerged; // TCP behind it, perhaps: it ends every flow between these addresses
        }
        s.TransportOffset = EthernetFrame.FixedLength + Ipv6Packet.FixedLength;
        s.LengthField = ip.PayloadLength;
        s.FrameLength = EthernetFrame.FixedLength + Ipv6Packet.FixedLength + ip.PayloadLength;
        s.IpFields = (ulong)ip.TrafficClass << 32 | (ulong)ip.FlowLabel << 8 | ip.HopLimit;
        return Verdict.Candidate;
    }

    // tcp_softlro_check: no options, or timestamps alone in RFC 7323 appendix A's layout.
    private static bool TryTimestamps(TcpSegment tcp, ref Segment s)
    {
        Span<byte> options = tcp.Options;
        if (options.Length == 0)
            return true;
        if (options.Length != TimestampsOptionsLength || System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(options) != TimestampsLayout
            || !TcpTimestampsOption.TryCreate(options[2..], out TcpTimestampsOption ts))
            return false;
        s.HasTimestamps = true;
        s.TsValue = ts.Value;
        s.TsEchoReply = ts.EchoReply;
        return true;
    }

    // The TCP checksum: as the driver reports it, or summed here over the chain when it did not.
    private bool TransportChecksumGood(PacketBuffer packet, in BufferMetadata m, OffloadReport checksum, in Segment s)
    {
        if ((ChecksumState(m, checksum) & (OffloadFlags.L4ChecksumVerified | OffloadFlags.L4ChecksumPartial)) != 0)
            return true;
        _counters.Count(LroCounter.ChecksumsInSoftware);
        int length = s.FrameLength - s.TransportOffset;
        Span<byte> network = _pool.Data(packet)[EthernetFrame.FixedLength..];
        ulong sum;
        if (s.Ipv6)
        {
            Ipv6Packet.TryCreate(network, m.PacketLength - EthernetFrame.FixedLength, out Ipv6Packet ip, out _);
            sum = InternetChecksum.PseudoHeaderSum(ip.Source, ip.Destination, (byte)IpProtocol.Tcp, length);
        }
        else
        {
            Ipv4Packet.TryCreate(network, m.PacketLength - EthernetFrame.FixedLength, out Ipv4Packet ip, out _);
            sum = InternetChecksum.PseudoHeaderSum(ip.Source, ip.Destination, (byte)IpProtocol.Tcp, length);
        }
        return InternetChecksum.FoldToUInt16(FrameChain.Sum(_pool, packet, s.TransportOffset, length, sum)) == 0xFFFF;
    }

    // ReceiveFacts.ChecksumState with the driver's report as a value: one merger serves every driver.
    private static OffloadFlags ChecksumState(in BufferMetadata m, OffloadReport checksum) => checksum switch
    {
        OffloadReport.Never => OffloadFlags.None,
        OffloadReport.EveryFrame => ReceiveFacts.AllVerified,
        _ => m.Offload & ReceiveFacts.ChecksumFlags,
    };

    private static bool IsExtensionHeader(IpProtocol next) => next is IpProtocol.HopByHop or IpProtocol.Ipv6Routing
        or IpProtocol.Ipv6Fragment or IpProtocol.Ipv6DestinationOptions;

    private enum Verdict
    {
        /// <summary>Not a TCP segment (or one too broken to look at): goes on, and no flow notices.</summary>
        Other,

        /// <summary>A TCP segment that may not be merged: goes on whole, and ends its flow's super-frame.</summary>
        NotMerged,

        /// <summary>A segment tcp_softlro_check takes.</summary>
        Candidate,
    }

    /// <summary>A flow as tcp_softlro compares it: both stations, both addresses (IPv4 mapped), both ports.</summary>
    private struct FlowKey
    {
        public MacAddress Destination;
        public MacAddress Source;
        public Ipv6Address SourceAddress;
        public Ipv6Address DestinationAddress;
        public uint Ports;

        public readonly bool Equals(in FlowKey other) => Ports == other.Ports && SameAddresses(other)
            && Destination == other.Destination && Source == other.Source;

        public readonly bool SameAddresses(in FlowKey other)
            => SourceAddress == other.SourceAddress && DestinationAddress == other.DestinationAddress;
    }

    /// <summary>What the rules need of one received segment.</summary>
    private struct Segment
    {
        public FlowKey Key;
        public bool PortsKnown;
        public bool Ipv6;
        public ulong IpFields;
        public int TransportOffset;
        public int TcpHeaderLength;
        public int LengthField;
        public int FrameLength;
        public int Payload;
        public int Buffers;
        public uint Sequence;
        public uint Acknowledgment;
        public ushort Window;
        public bool Push;
        public bool HasTimestamps;
        public uint TsValue;
        public uint TsEchoReply;
    }

    /// <summary>One flow's super-frame in the making.</summary>
    private struct Flow
    {
        public FlowKey Key;
        public PacketBuffer Head;
        public PacketBuffer Tail;
        public int Parts;
        public bool Ipv6;
        public ulong IpFields;
        public int TransportOffset;
        public int TcpHeaderLength;
        public int LengthField;
        public int FrameLength;
        public uint NextSequence;
        public uint Acknowledgment;
        public ushort Window;
        public bool Push;
        public bool HasTimestamps;
        public uint TsValue;
        public uint TsEchoReply;
        public int LargestPayload;
    }
}
