using Dataplane.Wire;

namespace Dataplane.Fuzz;

/// <summary>
/// Fuzz targets over the generated views, one per protocol family. Every view of the family gets
/// the same input and must keep the invariants of <see cref="Header{TView, TRepr}"/>; a target
/// throws only when one breaks.
/// </summary>
internal static class WireTargets
{
    public static void Link(ReadOnlySpan<byte> input)
    {
        Header<EthernetFrame, EthernetFrame.Repr>(input);
        Header<VlanTag, VlanTag.Repr>(input);
        Header<ServiceTag, ServiceTag.Repr>(input);
        Header<ArpPacket, ArpPacket.Repr>(input);
    }

    public static void Ipv4(ReadOnlySpan<byte> input)
    {
        Header<Ipv4Packet, Ipv4Packet.Repr>(input);
        byte[] copy = input.ToArray();
        if (Ipv4Packet.TryCreate(copy, out Ipv4Packet ip))
            Walk(ip.EnumerateOptions(), ip.Options);
    }

    public static void Ipv6(ReadOnlySpan<byte> input)
    {
        Header<Ipv6Packet, Ipv6Packet.Repr>(input);
        Header<Ipv6HopByHopHeader, Ipv6HopByHopHeader.Repr>(input);
        Header<Ipv6DestinationOptionsHeader, Ipv6DestinationOptionsHeader.Repr>(input);
        Header<Ipv6RoutingHeader, Ipv6RoutingHeader.Repr>(input);
        Header<Ipv6FragmentHeader, Ipv6FragmentHeader.Repr>(input);
        byte[] copy = input.ToArray();
        if (Ipv6Packet.TryCreate(copy, out Ipv6Packet ip))
            Frames.WalkIpv6(ip);
    }

    public static void Icmpv4(ReadOnlySpan<byte> input)
    {
        Header<Icmpv4Packet, Icmpv4Packet.Repr>(input);
        Header<Icmpv4Echo, Icmpv4Echo.Repr>(input);
        Header<Icmpv4Error, Icmpv4Error.Repr>(input);
        Header<Icmpv4Redirect, Icmpv4Redirect.Repr>(input);
    }

    public static void Icmpv6(ReadOnlySpan<byte> input)
    {
        Header<Icmpv6Packet, Icmpv6Packet.Repr>(input);
        Header<Icmpv6Echo, Icmpv6Echo.Repr>(input);
        Header<Icmpv6Error, Icmpv6Error.Repr>(input);
        Header<RouterSolicitation, RouterSolicitation.Repr>(input);
        Header<RouterAdvertisement, RouterAdvertisement.Repr>(input);
        Header<NeighborSolicitation, NeighborSolicitation.Repr>(input);
        Header<NeighborAdvertisement, NeighborAdvertisement.Repr>(input);
        Header<NdpRedirect, NdpRedirect.Repr>(input);
        Header<NdpLinkLayerAddressOption, NdpLinkLayerAddressOption.Repr>(input);
        Header<NdpPrefixInformationOption, NdpPrefixInformationOption.Repr>(input);
        Header<NdpRedirectedHeaderOption, NdpRedirectedHeaderOption.Repr>(input);
        Header<NdpMtuOption, NdpMtuOption.Repr>(input);
        byte[] copy = input.ToArray();
        if (NeighborAdvertisement.TryCreate(copy, out NeighborAdvertisement na))
            Walk(na.EnumerateOptions(), na.Options);
    }

    public static void Multicast(ReadOnlySpan<byte> input)
    {
        Header<IgmpV2Message, IgmpV2Message.Repr>(input);
        Header<IgmpV3Query, IgmpV3Query.Repr>(input);
        Header<IgmpV3Report, IgmpV3Report.Repr>(input);
        Header<IgmpV3GroupRecord, IgmpV3GroupRecord.Repr>(input);
        Header<MldV2Query, MldV2Query.Repr>(input);
        Header<MldV2Report, MldV2Report.Repr>(input);
        Header<MldV2AddressRecord, MldV2AddressRecord.Repr>(input);
        byte[] copy = input.ToArray();
        if (IgmpV3Report.TryCreate(copy, out IgmpV3Report igmp))
        {
            foreach (IgmpV3GroupRecord record in igmp.EnumerateRecords())
                Within(record.Header, igmp.Payload, "IGMPv3 group record");
        }
        if (MldV2Report.TryCreate(copy, out MldV2Report mld))
        {
            foreach (MldV2AddressRecord record in mld.EnumerateRecords())
                Within(record.Header, mld.Payload, "MLDv2 address record");
        }
    }

    public static void Transport(ReadOnlySpan<byte> input)
    {
        Header<UdpDatagram, UdpDatagram.Repr>(input);
        Header<TcpSegment, TcpSegment.Repr>(input);
        Header<TcpMssOption, TcpMssOption.Repr>(input);
        Header<TcpWindowScaleOption, TcpWindowScaleOption.Repr>(input);
        Header<TcpSackPermittedOption, TcpSackPermittedOption.Repr>(input);
        Header<TcpSackOption, TcpSackOption.Repr>(input);
        Header<TcpTimestampsOption, TcpTimestampsOption.Repr>(input);
        byte[] copy = input.ToArray();
        if (!TcpSegment.TryCreate(copy, out TcpSegment tcp))
            return;
        Walk(tcp.EnumerateOptions(), tcp.Options);
        if (TcpOptions.TryParse(tcp, out TcpOptions options) && options.Length <= 40)
        {
            // What parses must emit and parse back to the same values.
            byte[] segment = new byte[TcpSegment.FixedLength + options.Length];
            new TcpSegment.Repr { DataOffset = (byte)(segment.Length / 4) }.Emit(segment);
            options.Emit(segment.AsSpan(TcpSegment.FixedLength));
            if (!TcpSegment.TryCreate(segment, out TcpSegment again) || !TcpOptions.TryParse(again, out TcpOptions back) || back != options)
                throw new InvariantException("TCP options do not survive Emit and TryParse");
        }
    }

    public static void Tunnel(ReadOnlySpan<byte> input)
    {
        Header<VxlanHeader, VxlanHeader.Repr>(input);
        Header<GreHeader, GreHeader.Repr>(input);
        byte[] copy = input.ToArray();
        if (GreHeader.TryCreate(copy, out GreHeader gre))
            _ = (gre.Checksum, gre.Key, gre.SequenceNumber);
    }

    /// <summary>
    /// The invariants of every view: creation succeeds exactly when it reports no error; the lengths
    /// nest (fixed part, header, packet, buffer); a Repr parses only what a view accepts, emits its
    /// fixed length, and what it emits parses back to the same value (or, where Emit left a payload
    /// checksum for the view to fill, fails on that checksum alone).
    /// </summary>
    private static void Header<TView, TRepr>(ReadOnlySpan<byte> input)
        where TView : IWireHeader<TView>, allows ref struct
        where TRepr : struct, IWireRepr<TRepr>
    {
        string name = typeof(TRepr).DeclaringType!.Name;
        byte[] copy = input.ToArray();
        bool created = TView.TryCreate(copy, out TView view, out WireError error);
        if (created != (error == WireError.None))
            throw new InvariantException($"{name}: TryCreate returned {created} with error {error}");
        if (created && !(TView.FixedLength <= view.HeaderLength && view.HeaderLength <= view.PacketLength && view.PacketLength <= copy.Length))
            throw new InvariantException($"{name}: lengths do not nest: fixed {TView.FixedLength}, header {view.HeaderLength}, packet {view.PacketLength}, buffer {copy.Length}");
        if (!created && copy.Length >= TView.FixedLength && error == WireError.Truncated)
            throw new InvariantException($"{name}: {copy.Length} bytes called truncated");

        if (!TRepr.TryParse(copy, out TRepr repr, out WireError parseError))
        {
            if (parseError == WireError.None)
                throw new InvariantException($"{name}: TryParse refused with no error");
            return;
        }
        if (!created)
            throw new InvariantException($"{name}: Repr.TryParse accepted what TryCreate refused ({error})");
        byte[] again = (byte[])copy.Clone();
        int written = repr.Emit(again);
        if (written != TView.FixedLength)
            throw new InvariantException($"{name}: Emit wrote {written} bytes, fixed length {TView.FixedLength}");
        if (TRepr.TryParse(again, out TRepr back, out WireError againError))
        {
            if (!back.Equals(repr))
                throw new InvariantException($"{name}: emitted {back}, parsed {repr}");
        }
        else if (againError != WireError.BadChecksum)
        {
            throw new InvariantException($"{name}: what Emit wrote does not parse: {againError}");
        }
    }

    /// <summary>An option walk stays inside the options and consumes them in order.</summary>
    private static void Walk(WireOptionEnumerator walk, Span<byte> options)
    {
        int count = 0;
        while (walk.MoveNext())
        {
            Within(walk.Current.Raw, options, "option");
            if (walk.Current.Data.Length != walk.Current.Raw.Length - 2)
                throw new InvariantException("option data is not the option after its type and length");
            if (++count > options.Length)
                throw new InvariantException("the option walk does not end");
        }
    }

    /// <summary>Throws unless <paramref name="part"/> lies inside <paramref name="whole"/>.</summary>
    internal static void Within(Span<byte> part, Span<byte> whole, string what)
    {
        if (part.IsEmpty)
            return;
        if (!whole.Overlaps(part, out int offset) || offset < 0 || offset + part.Length > whole.Length)
            throw new InvariantException($"{what} of {part.Length} bytes lies outside its {whole.Length}-byte container");
    }
}
