using Dataplane.Buffers;
using Dataplane.Ports;
using Dataplane.Stack.Offload;
using Dataplane.Wire;

namespace Dataplane.Stack.Ip;

// Super-frames on output: a forwarded TCP or UDP super-frame (a peer's TSO, the kernel's GRO)
// leaves whole when the egress port segments (PortCapabilities.Tso: a tap, later the VFIO drivers)
// and is cut in software (Offload/Segmenter.cs) otherwise. Its segments never pass the egress MTU:
// the forwarding layers answer a segment that would (RFC 1191, RFC 8201) before they get here, as
// Linux does with skb_gso_validate_network_len, except for IPv4 without DF, whose segments are cut
// and then fragmented. OpenBSD re-chops forwarded LRO packets for the same reason: the path MTU holds.
internal sealed partial class IpOutput
{
    /// <summary>
    /// Sends an IPv4 super-frame laid out as <paramref name="layout"/> to <paramref name="nextHop"/>
    /// on <paramref name="output"/>: whole where the port segments and a segment fits its MTU, else
    /// in segments, each fragmented when it still does not fit (the caller refused DF before).
    /// Releases or passes on <paramref name="packet"/>.
    /// </summary>
    public void Ipv4SendSuperFrame(NetInterface output, Ipv4Address nextHop, PacketBuffer packet, in SuperFrame layout)
    {
        if (layout.SegmentNetworkLength > output.Mtu)
        {
            // Fragments carry no offload request: every segment's checksum is computed here.
            var chop = new Segmenter(_context.Cache, packet, layout, partial: false);
            while (chop.TryNext(out PacketBuffer piece))
            {
                Ipv4Packet.TryCreate(_pool.Data(piece)[EthernetHeader..], _pool.Metadata(piece).PacketLength - EthernetHeader, out Ipv4Packet ip, out _);
                if (ip.PacketLength > output.Mtu)
                    Ipv4Fragment(output, nextHop, piece, ip);
                else
                    Ipv4SendTo(output, nextHop, piece);
            }
            chop.Finish(_counters);
            return;
        }
        if (SegmentsWhole(output, layout))
        {
            PrepareWhole(packet, layout);
            Ipv4SendTo(output, nextHop, packet);
            return;
        }
        var segments = new Segmenter(_context.Cache, packet, layout, LeavesChecksum(output));
        while (segments.TryNext(out PacketBuffer piece))
            Ipv4SendTo(output, nextHop, piece);
        segments.Finish(_counters);
    }

    /// <summary>
    /// Sends an IPv6 super-frame whose segments fit <paramref name="output"/>'s MTU (the caller
    /// answered packet too big otherwise: RFC 8200 5, routers never fragment): whole where the port
    /// segments, else in segments. Releases or passes on <paramref name="packet"/>.
    /// </summary>
    public void Ipv6SendSuperFrame(NetInterface output, in Ipv6Address nextHop, PacketBuffer packet, in SuperFrame layout)
    {
        if (SegmentsWhole(output, layout))
        {
            PrepareWhole(packet, layout);
            Ipv6SendTo(output, nextHop, packet);
            return;
        }
        var chop = new Segmenter(_context.Cache, packet, layout, LeavesChecksum(output));
        while (chop.TryNext(out PacketBuffer piece))
            Ipv6SendTo(output, nextHop, piece);
        chop.Finish(_counters);
    }

    /// <summary>
    /// True when <paramref name="output"/> takes <paramref name="layout"/> whole and segments it: a
    /// TCP super-frame on a port with TSO (which the host gives an interface only while its tso
    /// switch is on). UDP super-frames are always cut here: GSO_UDP_L4 on transmit is not TSO.
    /// </summary>
    private static bool SegmentsWhole(NetInterface output, in SuperFrame layout)
        => layout.IsTcp && (output.Capabilities & PortCapabilities.Tso) != 0;

    /// <summary>True when a segment's transport checksum may be left partial: the port finishes it for nothing.</summary>
    private static bool LeavesChecksum(NetInterface output) => (output.Capabilities & PortCapabilities.TransmitChecksum) != 0;

    /// <summary>
    /// Readies a super-frame to leave whole: virtio-net asks NEEDS_CSUM with every GSO type (the
    /// kernel's virtio_net_hdr_to_skb refuses GSO without it), so one that arrived verified
    /// (DATA_VALID) rather than partial gets the pseudo-header sum over its whole transport length
    /// in its checksum field, as Linux's __tcp_v4_send_check leaves it for tcp_gso_segment, and the
    /// partial fields set.
    /// </summary>
    private void PrepareWhole(PacketBuffer packet, in SuperFrame layout)
    {
        ref BufferMetadata m = ref _pool.Metadata(packet);
        if ((m.Offload & OffloadFlags.L4ChecksumPartial) == 0)
        {
            Span<byte> data = _pool.Data(packet);
            ulong pseudo = layout.PseudoHeaderSum(data, layout.TransportLength);
            InternetChecksum.Store(data.Slice(layout.TransportOffset + layout.ChecksumOffset, sizeof(ushort)), (ushort)InternetChecksum.FoldToUInt16(pseudo));
            m.Offload = (m.Offload & ~OffloadFlags.L4ChecksumVerified) | OffloadFlags.L4ChecksumPartial;
            m.ChecksumStart = (ushort)layout.TransportOffset;
            m.ChecksumOffset = (ushort)layout.ChecksumOffset;
        }
        _counters.Count(OffloadCounter.SentWhole);
    }
}
