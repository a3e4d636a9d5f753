using Dataplane.Buffers;
using Dataplane.Wire;

namespace Dataplane.Stack.Offload;

/// <summary>
/// Where the headers of a received segmentation super-frame lie and what it carries (a peer's TSO
/// through a tap, the kernel's GRO under an afpacket port: one TCP or UDP flow's segments as one
/// frame, its segment size in the metadata), read from its headers by <see cref="TryRead"/>, which
/// checks everything the virtio-net header claims before anything trusts it.
/// </summary>
/// <remarks>
/// The checks are those the kernel makes of a virtio-net header it is handed
/// (<c>virtio_net_hdr_to_skb</c>, then <c>skb_gso_validate_network_len</c> and the GSO callbacks
/// <c>tcp4_gso_segment</c>, <c>tcp6_gso_segment</c> and <c>__udp_gso_segment</c>): the segmentation
/// type names the headers the frame has, the segment size is neither 0 nor beyond the payload, a
/// partial checksum starts at the transport header and lands on its checksum field. IPv4 options and
/// IPv6 extension headers are refused rather than carried: GRO never merges such packets
/// (<c>inet_gro_receive</c> flushes on an IPv4 header longer than 20 bytes), so only a lying header
/// brings one.
/// </remarks>
internal readonly struct SuperFrame
{
    private const int EthernetHeader = EthernetFrame.FixedLength;

    /// <summary>The segmentation type, checked against the headers.</summary>
    public GsoType Type { get; init; }

    /// <summary>True for IPv6.</summary>
    public bool IsIpv6 { get; init; }

    /// <summary>Where the transport header starts, from the frame start (Ethernet and IP headers before it).</summary>
    public int TransportOffset { get; init; }

    /// <summary>The bytes copied in front of every segment: Ethernet, IP and transport headers.</summary>
    public int HeadersLength { get; init; }

    /// <summary>The bytes of transport payload, cut into segments of <see cref="SegmentSize"/>.</summary>
    public int PayloadLength { get; init; }

    /// <summary>The payload of each segment but the last (the MSS).</summary>
    public int SegmentSize { get; init; }

    /// <summary>True for a TCP super-frame, false for UDP.</summary>
    public bool IsTcp => Type != GsoType.Udp;

    /// <summary>Where the transport checksum field is, from the transport header (RFC 9293 3.1: 16; RFC 768: 6).</summary>
    public int ChecksumOffset => IsTcp ? 16 : 6;

    /// <summary>The IP packet length of the super-frame.</summary>
    public int NetworkLength => HeadersLength - EthernetHeader + PayloadLength;

    /// <summary>The transport length of the super-frame (header and payload).</summary>
    public int TransportLength => HeadersLength - TransportOffset + PayloadLength;

    /// <summary>The IP packet length of one full segment: what the MTU is checked against (Linux's <c>skb_gso_validate_network_len</c>).</summary>
    public int SegmentNetworkLength => HeadersLength - EthernetHeader + SegmentSize;

    /// <summary>How many segments the payload makes.</summary>
    public int Segments => (PayloadLength + SegmentSize - 1) / SegmentSize;

    /// <summary>
    /// Reads the super-frame at <paramref name="packet"/> (its headers pulled up into the first
    /// buffer), trimming bytes past its IP length; false with the counter that says why when the
    /// metadata and the headers disagree. <paramref name="checksums"/> is the checksum state the
    /// driver vouches for: with neither verified nor partial, the transport checksum over the whole
    /// is checked here, so that segments given fresh checksums never launder a corrupt frame.
    /// </summary>
    public static bool TryRead(BufferCache cache, PacketBuffer packet, OffloadFlags checksums, out SuperFrame frame, out OffloadCounter reason)
    {
        BufferPool pool = cache.Pool;
        ref BufferMetadata m = ref pool.Metadata(packet);
        frame = default;
        if (!TryParse(pool.Data(packet), m.PacketLength, m.Gso, m.SegmentSize, out frame, out reason))
            return false;
        if (EthernetHeader + frame.NetworkLength < m.PacketLength)
            FrameChain.Trim(cache, packet, EthernetHeader + frame.NetworkLength); // Ethernet padding: the IP length is what counts
        if (!HoldsItsLength(pool, packet))
        {
            // The chain ends before the frame's length: a segment would be cut from bytes that are not there.
            reason = OffloadCounter.ShortChain;
            return false;
        }
        if ((checksums & OffloadFlags.L4ChecksumPartial) != 0
            && (m.ChecksumStart != frame.TransportOffset || m.ChecksumOffset != frame.ChecksumOffset))
        {
            // Beyond the frame, or anywhere but the transport checksum: the kernel would finish a
            // checksum over the wrong bytes, and a segment's would be wrong too.
            reason = OffloadCounter.BadChecksumOffset;
            return false;
        }
        if ((checksums & (OffloadFlags.L4ChecksumVerified | OffloadFlags.L4ChecksumPartial)) == 0 && !VerifyChecksum(pool, packet, frame))
        {
            reason = OffloadCounter.BadChecksum;
            return false;
        }
        return true;
    }

    /// <summary>
    /// Reads the layout of a super-frame from its first buffer <paramref name="data"/>, the frame
    /// <paramref name="packetLength"/> bytes long, claimed to be of <paramref name="type"/> with
    /// segments of <paramref name="segmentSize"/>; false with the reason when they do not agree.
    /// </summary>
    public static bool TryParse(Span<byte> data, int packetLength, GsoType type, int segmentSize, out SuperFrame frame, out OffloadCounter reason)
    {
        frame = default;
        if (!EthernetFrame.TryCreate(data, out EthernetFrame eth))
        {
            reason = OffloadCounter.BadHeaders;
            return false;
        }
        Span<byte> l3 = data[EthernetHeader..];
        int available = packetLength - EthernetHeader;
        int networkHeader, networkLength;
        IpProtocol protocol;
        bool ipv6;
        switch (eth.EtherType)
        {
            case EtherType.Ipv4:
                if (!Ipv4Packet.TryCreate(l3, available, out Ipv4Packet ip4, out _) || ip4.Version != 4
                    || ip4.FragmentOffset != 0 || ip4.HasFlags(Ipv4Flags.MoreFragments))
                {
                    reason = OffloadCounter.BadHeaders;
                    return false;
                }
                ipv6 = false;
                networkHeader = ip4.HeaderLength;
                networkLength = ip4.PacketLength;
                protocol = ip4.Protocol;
                break;
            case EtherType.Ipv6:
                if (!Ipv6Packet.TryCreate(l3, available, out Ipv6Packet ip6, out _) || ip6.Version != 6)
                {
                    reason = OffloadCounter.BadHeaders;
                    return false;
                }
                ipv6 = true;
                networkHeader = Ipv6Packet.FixedLength;
                networkLength = ip6.PacketLength;
                protocol = ip6.NextHeader;
                break;
            default:
                reason = OffloadCounter.TypeMismatch;
                return false;
        }
        // The type names the family and the transport (tcp4_gso_segment refuses a TCPV4 skb that is
        // not IPv4, tcp6 likewise; __udp_gso_segment one that is not UDP).
        bool tcp = protocol == IpProtocol.Tcp;
        bool udp = protocol == IpProtocol.Udp;
        bool matches = type switch
        {
            GsoType.TcpV4 => !ipv6,
            GsoType.TcpV6 => ipv6,
            GsoType.Udp => true,
            _ => false,
        };
        if (ipv6 && !tcp && !udp && matches && IsExtensionHeader(protocol))
        {
            reason = OffloadCounter.Ipv6ExtensionHeaders;
            return false;
        }
        if (!matches || (type == GsoType.Udp ? !udp : !tcp))
        {
            reason = OffloadCounter.TypeMismatch;
            return false;
        }
        if (networkHeader > Ipv4Packet.FixedLength && !ipv6)
        {
            reason = OffloadCounter.Ipv4Options;
            return false;
        }
        int transportOffset = EthernetHeader + networkHeader;
        int transportLength = networkLength - networkHeader;
        Span<byte> l4 = data.Length > transportOffset ? data[transportOffset..] : [];
        int transportHeader;
        if (tcp)
        {
            if (l4.Length < TcpSegment.FixedLength || transportLength < TcpSegment.FixedLength
                || !TcpSegment.TryCreate(l4[..Math.Min(l4.Length, transportLength)], out TcpSegment segment))
            {
                reason = OffloadCounter.BadHeaders;
                return false;
            }
            transportHeader = segment.HeaderLength;
        }
        else
        {
            if (!UdpDatagram.TryCreate(l4, transportLength, out _, out _))
            {
                reason = OffloadCounter.BadHeaders;
                return false;
            }
            transportHeader = UdpDatagram.FixedLength;
        }
        int payload = transportLength - transportHeader;
        if (segmentSize == 0 || segmentSize > payload)
        {
            reason = OffloadCounter.BadSegmentSize;
            return false;
        }
        frame = new SuperFrame
        {
            Type = type,
            IsIpv6 = ipv6,
            TransportOffset = transportOffset,
            HeadersLength = transportOffset + transportHeader,
            PayloadLength = payload,
            SegmentSize = segmentSize,
        };
        reason = default;
        return true;
    }

    /// <summary>The layout of a super-frame <see cref="TryRead"/> accepted (its headers are in the first buffer).</summary>
    public static SuperFrame Read(BufferPool pool, PacketBuffer packet)
    {
        ref BufferMetadata m = ref pool.Metadata(packet);
        TryParse(pool.Data(packet), m.PacketLength, m.Gso, m.SegmentSize, out SuperFrame frame, out _);
        return frame;
    }

    /// <summary>The pseudo-header sum for a transport length of <paramref name="transportLength"/> (RFC 9293 3.1, RFC 8200 8.1), from the IP header in <paramref name="data"/>.</summary>
    public ulong PseudoHeaderSum(Span<byte> data, int transportLength)
    {
        Span<byte> l3 = data[EthernetHeader..];
        byte protocol = (byte)(IsTcp ? IpProtocol.Tcp : IpProtocol.Udp);
        if (IsIpv6)
        {
            Ipv6Packet.TryCreate(l3, NetworkLength, out Ipv6Packet ip6, out _);
            return InternetChecksum.PseudoHeaderSum(ip6.Source, ip6.Destination, protocol, transportLength);
        }
        Ipv4Packet.TryCreate(l3, NetworkLength, out Ipv4Packet ip4, out _);
        return InternetChecksum.PseudoHeaderSum(ip4.Source, ip4.Destination, protocol, transportLength);
    }

    /// <summary>True when the buffers of the chain at <paramref name="packet"/> hold its whole length (a driver's chain may not end early).</summary>
    private static bool HoldsItsLength(BufferPool pool, PacketBuffer packet)
    {
        long held = 0;
        // A chain has at most byte.MaxValue buffers (BufferMetadata.Segments): the bound also ends a cycle.
        for (int index = packet.Index, buffers = 0; index >= 0 && buffers <= byte.MaxValue; buffers++)
        {
            ref BufferMetadata m = ref pool.Metadata(new PacketBuffer(index));
            held += m.DataLength;
            index = m.Next;
        }
        return held >= pool.Metadata(packet).PacketLength;
    }

    /// <summary>True when the transport checksum over the whole super-frame verifies (a UDP checksum of 0 over IPv4: none to verify, RFC 768).</summary>
    private static bool VerifyChecksum(BufferPool pool, PacketBuffer packet, in SuperFrame frame)
    {
        Span<byte> data = pool.Data(packet);
        if (!frame.IsTcp && !frame.IsIpv6 && UdpDatagram.TryCreate(data[frame.TransportOffset..], frame.TransportLength, out UdpDatagram udp, out _) && udp.Checksum == 0)
            return true;
        ulong sum = FrameChain.Sum(pool, packet, frame.TransportOffset, frame.TransportLength, frame.PseudoHeaderSum(data, frame.TransportLength));
        return InternetChecksum.FoldToUInt16(sum) == 0xFFFF;
    }

    /// <summary>The IPv6 extension headers (RFC 8200 4), which a super-frame here may not carry.</summary>
    private static bool IsExtensionHeader(IpProtocol next)
        => next is IpProtocol.HopByHop or IpProtocol.Ipv6Routing or IpProtocol.Ipv6Fragment or IpProtocol.Ipv6DestinationOptions
            or (IpProtocol)51 or (IpProtocol)50 or (IpProtocol)135 or (IpProtocol)139 or (IpProtocol)140; // AH, ESP, mobility, HIP, shim6
}
