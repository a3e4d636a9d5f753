namespace Dataplane.Wire.Tests.Network;

/// <summary>Neighbor Discovery (RFC 4861): the five messages and their options.</summary>
public class NeighborDiscoveryTests
{
    // Made with scapy 2.5.0; the host is 52:54:00:12:34:56 (fe80::5054:ff:fe12:3456), the router
    // 00:1a:2b:3c:4d:5e (fe80::21a:2bff:fe3c:4d5e). Each literal is the IPv6 header and the message.

    // IPv6(hlim=255, src=host, dst="ff02::2")/ICMPv6ND_RS()/ICMPv6NDOptSrcLLAddr(lladdr=host)
    private static readonly byte[] RouterSolicitationPacket =
    [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x10, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x50, 0x54, 0x00, 0xff, 0xfe, 0x12, 0x34, 0x56, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
        // router solicitation @ 40
        0x85, 0x00, 0x71, 0xb5, 0x00, 0x00, 0x00, 0x00,
        // source link-layer address @ 48
        0x01, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
    ];

    // IPv6(hlim=255, src=router, dst="ff02::1")/ICMPv6ND_RA(chlim=64, M=0, O=1, prf=0, routerlifetime=1800,
    //   reachabletime=0, retranstimer=0)/ICMPv6NDOptSrcLLAddr(lladdr=router)/ICMPv6NDOptMTU(mtu=1500)
    //   /ICMPv6NDOptPrefixInfo(prefixlen=64, L=1, A=1, validlifetime=86400, preferredlifetime=14400, prefix="2001:db8:1::")
    private static readonly byte[] RouterAdvertisementPacket =
    [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x40, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x02, 0x1a, 0x2b, 0xff, 0xfe, 0x3c, 0x4d, 0x5e, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        // router advertisement @ 40
        0x86, 0x00, 0x3b, 0x31, 0x40, 0x40, 0x07, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        // source link-layer address @ 56
        0x01, 0x01, 0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e,
        // MTU @ 64
        0x05, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05, 0xdc,
        // prefix information @ 72
        0x03, 0x04, 0x40, 0xc0, 0x00, 0x01, 0x51, 0x80, 0x00, 0x00, 0x38, 0x40, 0x00, 0x00, 0x00, 0x00,
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    // IPv6(hlim=255, src=host, dst="ff02::1:ff3c:4d5e")/ICMPv6ND_NS(tgt=router)/ICMPv6NDOptSrcLLAddr(lladdr=host)
    private static readonly byte[] NeighborSolicitationPacket =
    [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x50, 0x54, 0x00, 0xff, 0xfe, 0x12, 0x34, 0x56, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x01, 0xff, 0x3c, 0x4d, 0x5e,
        // neighbor solicitation @ 40
        0x87, 0x00, 0xaa, 0xd5, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x02, 0x1a, 0x2b, 0xff, 0xfe, 0x3c, 0x4d, 0x5e,
        // source link-layer address @ 64
        0x01, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
    ];

    // IPv6(hlim=255, src=router, dst=host)/ICMPv6ND_NA(R=1, S=1, O=1, tgt=router)/ICMPv6NDOptDstLLAddr(lladdr=router)
    private static readonly byte[] NeighborAdvertisementPacket =
    [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x02, 0x1a, 0x2b, 0xff, 0xfe, 0x3c, 0x4d, 0x5e, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x50, 0x54, 0x00, 0xff, 0xfe, 0x12, 0x34, 0x56,
        // neighbor advertisement @ 40
        0x88, 0x00, 0xaa, 0x46, 0xe0, 0x00, 0x00, 0x00, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x02, 0x1a, 0x2b, 0xff, 0xfe, 0x3c, 0x4d, 0x5e,
        // target link-layer address @ 64
        0x02, 0x01, 0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e,
    ];

    // The router tells the host that fe80::1:2ff:fe03:405 is a better first hop for 2001:db8:2::42,
    // quoting the first 48 bytes of the packet that made it redirect:
    //   IPv6(hlim=255, src=router, dst=host)/ICMPv6ND_Redirect(tgt="fe80::1:2ff:fe03:405", dst="2001:db8:2::42")
    //     /ICMPv6NDOptDstLLAddr(lladdr="02:01:02:03:04:05")/Raw(struct.pack("!BB6x", 4, 7) + bytes(IPv6(hlim=63,
    //     src="2001:db8:1::100", dst="2001:db8:2::42")/ICMPv6EchoRequest(id=0x2c1d, seq=7, data=bytes(range(0x10, 0x38))))[:48])
    private static readonly byte[] RedirectPacket =
    [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x68, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x02, 0x1a, 0x2b, 0xff, 0xfe, 0x3c, 0x4d, 0x5e, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x50, 0x54, 0x00, 0xff, 0xfe, 0x12, 0x34, 0x56,
        // redirect @ 40
        0x89, 0x00, 0x61, 0x1f, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x02, 0xff, 0xfe, 0x03, 0x04, 0x05, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x02, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x42,
        // target link-layer address @ 80
        0x02, 0x01, 0x02, 0x01, 0x02, 0x03, 0x04, 0x05,
        // redirected header @ 88
        0x04, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x00, 0x30, 0x3a, 0x3f,
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x42,
        0x80, 0x00, 0x37, 0xe7, 0x2c, 0x1d, 0x00, 0x07,
    ];

    private static Ipv6Address Address(string text)
    {
        Assert.True(Ipv6Address.TryParse(text, out Ipv6Address address));
        return address;
    }

    private static readonly MacAddress HostMac = new(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
    private static readonly MacAddress RouterMac = new(0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e);
    private static readonly Ipv6Address Host = Address("fe80::5054:ff:fe12:3456");
    private static readonly Ipv6Address Router = Address("fe80::21a:2bff:fe3c:4d5e");

    /// <summary>The ICMPv6 message of a literal, and the addresses of its pseudo-header.</summary>
    private static (byte[] Message, Ipv6Address Source, Ipv6Address Destination) Split(byte[] packet)
    {
        Assert.True(Ipv6Packet.TryCreate([.. packet], out Ipv6Packet ip));
        Assert.Equal(IpProtocol.Icmpv6, ip.NextHeader);
        Assert.Equal(255, ip.HopLimit); // RFC 4861: anything else did not come from the link
        return (packet[40..], ip.Source, ip.Destination);
    }

    // ---- router solicitation ----

    [Fact]
    public void Router_solicitation_deconstruct_reads_fields_and_its_option()
    {
        var (message, source, destination) = Split(RouterSolicitationPacket);
        Assert.True(RouterSolicitation.TryCreate(message, out RouterSolicitation rs, out WireError error));

        Assert.Equal(WireError.None, error);
        Assert.Equal(Icmpv6Type.RouterSolicitation, rs.Type);
        Assert.Equal(0, rs.Code);
        Assert.Equal(0x71b5, rs.Checksum);
        Assert.Equal(0u, rs.Reserved);
        Assert.Equal(8, rs.HeaderLength);
        Assert.Equal(16, rs.PacketLength);
        Assert.Equal(message[8..], rs.Options.ToArray());
        Assert.True(rs.VerifyChecksum(source, destination));

        WireOptionEnumerator options = rs.EnumerateOptions();
        Assert.True(options.MoveNext());
        Assert.Equal((byte)NdpOptionType.SourceLinkLayerAddress, options.Current.Type);
        Assert.Equal(8, options.Current.Raw.Length);
        Assert.True(NdpLinkLayerAddressOption.TryCreate(options.Current.Raw, out NdpLinkLayerAddressOption lla));
        Assert.Equal(NdpOptionType.SourceLinkLayerAddress, lla.Type);
        Assert.Equal(1, lla.Length);
        Assert.Equal(HostMac, lla.Address);
        Assert.False(options.MoveNext());
        Assert.False(options.IsMalformed);
    }

    [Fact]
    public void Router_solicitation_construct_parse_and_emit_agree_with_the_bytes()
    {
        var (message, source, destination) = Split(RouterSolicitationPacket);

        byte[] bytes = new byte[16];
        Assert.True(RouterSolicitation.TryCreate(bytes, out RouterSolicitation rs));
        rs.Type = Icmpv6Type.RouterSolicitation;
        rs.Code = 0;
        rs.Reserved = 0;
        Assert.True(NdpLinkLayerAddressOption.TryCreate(rs.Options, out NdpLinkLayerAddressOption lla));
        lla.Type = NdpOptionType.SourceLinkLayerAddress;
        lla.Length = 1;
        lla.Address = HostMac;
        rs.FillChecksum(source, destination);
        Assert.Equal(message, bytes);

        var expected = new RouterSolicitation.Repr { Type = Icmpv6Type.RouterSolicitation, Code = 0, Reserved = 0 };
        Assert.True(RouterSolicitation.Repr.TryParse(message, out RouterSolicitation.Repr repr, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(expected, repr);

        byte[] emitted = new byte[16];
        Assert.Equal(8, expected.Emit(emitted));
        Assert.Equal(8, new NdpLinkLayerAddressOption.Repr { Type = NdpOptionType.SourceLinkLayerAddress, Length = 1, Address = HostMac }.Emit(emitted.AsSpan(8)));
        Assert.True(RouterSolicitation.TryCreate(emitted, out rs));
        rs.FillChecksum(source, destination);
        Assert.Equal(message, emitted);
    }

    // ---- router advertisement ----

    [Fact]
    public void Router_advertisement_deconstruct_reads_fields_and_walks_three_options()
    {
        var (message, source, destination) = Split(RouterAdvertisementPacket);
        Assert.True(RouterAdvertisement.TryCreate(message, out RouterAdvertisement ra));

        Assert.Equal(Icmpv6Type.RouterAdvertisement, ra.Type);
        Assert.Equal(0, ra.Code);
        Assert.Equal(0x3b31, ra.Checksum);
        Assert.Equal(64, ra.CurrentHopLimit);
        Assert.False(ra.Managed);
        Assert.True(ra.OtherConfiguration);
        Assert.Equal(0, ra.Reserved);
        Assert.Equal(1800, ra.RouterLifetime);
        Assert.Equal(0u, ra.ReachableTime);
        Assert.Equal(0u, ra.RetransmitTimer);
        Assert.Equal(16, ra.HeaderLength);
        Assert.Equal(64, ra.PacketLength);
        Assert.Equal(48, ra.Options.Length);
        Assert.True(ra.VerifyChecksum(source, destination));

        WireOptionEnumerator options = ra.EnumerateOptions();
        Assert.True(options.MoveNext());
        Assert.True(NdpLinkLayerAddressOption.TryCreate(options.Current.Raw, out NdpLinkLayerAddressOption lla));
        Assert.Equal(NdpOptionType.SourceLinkLayerAddress, lla.Type);
        Assert.Equal(RouterMac, lla.Address);

        Assert.True(options.MoveNext());
        Assert.Equal((byte)NdpOptionType.Mtu, options.Current.Type);
        Assert.True(NdpMtuOption.TryCreate(options.Current.Raw, out NdpMtuOption mtu));
        Assert.Equal(NdpOptionType.Mtu, mtu.Type);
        Assert.Equal(1, mtu.Length);
        Assert.Equal(0, mtu.Reserved);
        Assert.Equal(1500u, mtu.Mtu);

        Assert.True(options.MoveNext());
        Assert.Equal((byte)NdpOptionType.PrefixInformation, options.Current.Type);
        Assert.Equal(32, options.Current.Raw.Length);
        Assert.True(NdpPrefixInformationOption.TryCreate(options.Current.Raw, out NdpPrefixInformationOption prefix));
        Assert.Equal(NdpOptionType.PrefixInformation, prefix.Type);
        Assert.Equal(4, prefix.Length);
        Assert.Equal(64, prefix.PrefixLength);
        Assert.True(prefix.OnLink);
        Assert.True(prefix.Autonomous);
        Assert.Equal(0, prefix.Reserved1);
        Assert.Equal(86400u, prefix.ValidLifetime);
        Assert.Equal(14400u, prefix.PreferredLifetime);
        Assert.Equal(0u, prefix.Reserved2);
        Assert.Equal(Address("2001:db8:1::"), prefix.Prefix);

        Assert.False(options.MoveNext());
        Assert.False(options.IsMalformed);
    }

    [Fact]
    public void Router_advertisement_construct_through_the_setters_gives_the_bytes()
    {
        var (message, source, destination) = Split(RouterAdvertisementPacket);
        byte[] bytes = new byte[64];
        Assert.True(RouterAdvertisement.TryCreate(bytes, out RouterAdvertisement ra));
        ra.Type = Icmpv6Type.RouterAdvertisement;
        ra.Code = 0;
        ra.CurrentHopLimit = 64;
        ra.Managed = false;
        ra.OtherConfiguration = true;
        ra.Reserved = 0;
        ra.RouterLifetime = 1800;
        ra.ReachableTime = 0;
        ra.RetransmitTimer = 0;

        Assert.True(NdpLinkLayerAddressOption.TryCreate(ra.Options, out NdpLinkLayerAddressOption lla));
        lla.Type = NdpOptionType.SourceLinkLayerAddress;
        lla.Length = 1;
        lla.Address = RouterMac;
        Assert.True(NdpMtuOption.TryCreate(ra.Options[8..], out NdpMtuOption mtu));
        mtu.Type = NdpOptionType.Mtu;
        mtu.Length = 1;
        mtu.Mtu = 1500;
        Assert.True(NdpPrefixInformationOption.TryCreate(ra.Options[16..], out NdpPrefixInformationOption prefix));
        prefix.Type = NdpOptionType.PrefixInformation;
        prefix.Length = 4;
        prefix.PrefixLength = 64;
        prefix.OnLink = true;
        prefix.Autonomous = true;
        prefix.ValidLifetime = 86400;
        prefix.PreferredLifetime = 14400;
        prefix.Prefix = Address("2001:db8:1::");
        ra.FillChecksum(source, destination);

        Assert.Equal(message, bytes);
    }

    [Fact]
    public void Router_advertisement_parse_and_emit_agree_with_the_bytes()
    {
        var (message, source, destination) = Split(RouterAdvertisementPacket);
        var expected = new RouterAdvertisement.Repr
        {
            Type = Icmpv6Type.RouterAdvertisement,
            Code = 0,
            CurrentHopLimit = 64,
            Managed = false,
            OtherConfiguration = true,
            Reserved = 0,
            RouterLifetime = 1800,
            ReachableTime = 0,
            RetransmitTimer = 0,
        };
        var mtu = new NdpMtuOption.Repr { Type = NdpOptionType.Mtu, Length = 1, Reserved = 0, Mtu = 1500 };
        var prefix = new NdpPrefixInformationOption.Repr
        {
            Type = NdpOptionType.PrefixInformation,
            Length = 4,
            PrefixLength = 64,
            OnLink = true,
            Autonomous = true,
            Reserved1 = 0,
            ValidLifetime = 86400,
            PreferredLifetime = 14400,
            Reserved2 = 0,
            Prefix = Address("2001:db8:1::"),
        };

        Assert.True(RouterAdvertisement.Repr.TryParse(message, out RouterAdvertisement.Repr repr, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(expected, repr);
        Assert.True(NdpMtuOption.Repr.TryParse(message.AsSpan(24), out NdpMtuOption.Repr mtuRepr));
        Assert.Equal(mtu, mtuRepr);
        Assert.True(NdpPrefixInformationOption.Repr.TryParse(message.AsSpan(32), out NdpPrefixInformationOption.Repr prefixRepr));
        Assert.Equal(prefix, prefixRepr);

        byte[] emitted = new byte[64];
        Assert.Equal(16, expected.Emit(emitted));
        new NdpLinkLayerAddressOption.Repr { Type = NdpOptionType.SourceLinkLayerAddress, Length = 1, Address = RouterMac }.Emit(emitted.AsSpan(16));
        Assert.Equal(8, mtu.Emit(emitted.AsSpan(24)));
        Assert.Equal(32, prefix.Emit(emitted.AsSpan(32)));
        Assert.True(RouterAdvertisement.TryCreate(emitted, out RouterAdvertisement ra));
        ra.FillChecksum(source, destination);
        Assert.Equal(message, emitted);
    }

    [Fact]
    public void Router_advertisement_bits_of_byte_5_do_not_spill_into_each_other()
    {
        var (message, _, _) = Split(RouterAdvertisementPacket);
        Assert.True(RouterAdvertisement.TryCreate(message, out RouterAdvertisement ra));
        ra.Managed = true;
        Assert.Equal(0xc0, message[5]);
        ra.Reserved = 0x3f;
        Assert.Equal(0xff, message[5]);
        ra.OtherConfiguration = false;
        Assert.Equal(0xbf, message[5]);
        Assert.True(ra.Managed);
        Assert.Equal(0x3f, ra.Reserved);
        Assert.Equal(64, ra.CurrentHopLimit);
    }

    [Fact]
    public void Router_advertisement_incremental_setters_give_the_checksum_of_a_full_recompute()
    {
        var (message, source, destination) = Split(RouterAdvertisementPacket);
        var random = new Random(4861);
        Assert.True(RouterAdvertisement.TryCreate(message, out RouterAdvertisement ra));
        for (int i = 0; i < 2000; i++)
        {
            switch (random.Next(7))
            {
                case 0: ra.SetCurrentHopLimitUpdatingChecksum((byte)random.Next(256)); break;
                case 1: ra.SetManagedUpdatingChecksum(random.Next(2) == 1); break;
                case 2: ra.SetOtherConfigurationUpdatingChecksum(random.Next(2) == 1); break;
                case 3: ra.SetReservedUpdatingChecksum((byte)random.Next(64)); break;
                case 4: ra.SetRouterLifetimeUpdatingChecksum((ushort)random.Next(65536)); break;
                case 5: ra.SetReachableTimeUpdatingChecksum((uint)random.NextInt64(1L << 32)); break;
                default: ra.SetRetransmitTimerUpdatingChecksum((uint)random.NextInt64(1L << 32)); break;
            }
            Assert.Equal(ra.ComputeChecksum(source, destination), ra.Checksum);
        }
    }

    // ---- neighbor solicitation and advertisement ----

    [Fact]
    public void Neighbor_solicitation_deconstruct_reads_the_target_and_its_option()
    {
        var (message, source, destination) = Split(NeighborSolicitationPacket);
        Assert.True(NeighborSolicitation.TryCreate(message, out NeighborSolicitation ns));

        Assert.Equal(Icmpv6Type.NeighborSolicitation, ns.Type);
        Assert.Equal(0, ns.Code);
        Assert.Equal(0xaad5, ns.Checksum);
        Assert.Equal(0u, ns.Reserved);
        Assert.Equal(Router, ns.TargetAddress);
        Assert.Equal(24, ns.HeaderLength);
        Assert.Equal(32, ns.PacketLength);
        Assert.True(ns.VerifyChecksum(source, destination));
        Assert.Equal(Address("ff02::1:ff3c:4d5e"), destination); // the target's solicited-node group

        WireOptionEnumerator options = ns.EnumerateOptions();
        Assert.True(options.MoveNext());
        Assert.True(NdpLinkLayerAddressOption.TryCreate(options.Current.Raw, out NdpLinkLayerAddressOption lla));
        Assert.Equal(NdpOptionType.SourceLinkLayerAddress, lla.Type);
        Assert.Equal(HostMac, lla.Address);
        Assert.False(options.MoveNext());
    }

    [Fact]
    public void Neighbor_solicitation_construct_parse_and_emit_agree_with_the_bytes()
    {
        var (message, source, destination) = Split(NeighborSolicitationPacket);
        byte[] bytes = new byte[32];
        Assert.True(NeighborSolicitation.TryCreate(bytes, out NeighborSolicitation ns));
        ns.Type = Icmpv6Type.NeighborSolicitation;
        ns.Code = 0;
        ns.Reserved = 0;
        ns.TargetAddress = Router;
        Assert.True(NdpLinkLayerAddressOption.TryCreate(ns.Options, out NdpLinkLayerAddressOption lla));
        lla.Type = NdpOptionType.SourceLinkLayerAddress;
        lla.Length = 1;
        lla.Address = HostMac;
        ns.FillChecksum(source, destination);
        Assert.Equal(message, bytes);

        var expected = new NeighborSolicitation.Repr { Type = Icmpv6Type.NeighborSolicitation, Code = 0, Reserved = 0, TargetAddress = Router };
        Assert.True(NeighborSolicitation.Repr.TryParse(message, out NeighborSolicitation.Repr repr));
        Assert.Equal(expected, repr);

        byte[] emitted = [.. message];
        emitted.AsSpan(0, 24).Clear();
        Assert.Equal(24, expected.Emit(emitted));
        Assert.True(NeighborSolicitation.TryCreate(emitted, out ns));
        ns.FillChecksum(source, destination);
        Assert.Equal(message, emitted);
    }

    [Fact]
    public void Neighbor_advertisement_deconstruct_reads_the_flags_the_target_and_its_option()
    {
        var (message, source, destination) = Split(NeighborAdvertisementPacket);
        Assert.True(NeighborAdvertisement.TryCreate(message, out NeighborAdvertisement na));

        Assert.Equal(Icmpv6Type.NeighborAdvertisement, na.Type);
        Assert.Equal(0, na.Code);
        Assert.Equal(0xaa46, na.Checksum);
        Assert.Equal(NeighborAdvertisementFlags.Router | NeighborAdvertisementFlags.Solicited | NeighborAdvertisementFlags.Override, na.Flags);
        Assert.True(na.HasFlags(NeighborAdvertisementFlags.Router));
        Assert.True(na.HasFlags(NeighborAdvertisementFlags.Solicited | NeighborAdvertisementFlags.Override));
        Assert.Equal(0u, na.Reserved);
        Assert.Equal(Router, na.TargetAddress);
        Assert.Equal(24, na.HeaderLength);
        Assert.True(na.VerifyChecksum(source, destination));

        WireOptionEnumerator options = na.EnumerateOptions();
        Assert.True(options.MoveNext());
        Assert.True(NdpLinkLayerAddressOption.TryCreate(options.Current.Raw, out NdpLinkLayerAddressOption lla));
        Assert.Equal(NdpOptionType.TargetLinkLayerAddress, lla.Type);
        Assert.Equal(RouterMac, lla.Address);
        Assert.False(options.MoveNext());
    }

    [Fact]
    public void Neighbor_advertisement_construct_parse_and_emit_agree_with_the_bytes()
    {
        var (message, source, destination) = Split(NeighborAdvertisementPacket);
        byte[] bytes = new byte[32];
        Assert.True(NeighborAdvertisement.TryCreate(bytes, out NeighborAdvertisement na));
        na.Type = Icmpv6Type.NeighborAdvertisement;
        na.Code = 0;
        na.SetFlags(NeighborAdvertisementFlags.Router, true);
        na.SetFlags(NeighborAdvertisementFlags.Solicited | NeighborAdvertisementFlags.Override, true);
        na.Reserved = 0;
        na.TargetAddress = Router;
        Assert.True(NdpLinkLayerAddressOption.TryCreate(na.Options, out NdpLinkLayerAddressOption lla));
        lla.Type = NdpOptionType.TargetLinkLayerAddress;
        lla.Length = 1;
        lla.Address = RouterMac;
        na.FillChecksum(source, destination);
        Assert.Equal(message, bytes);

        var expected = new NeighborAdvertisement.Repr
        {
            Type = Icmpv6Type.NeighborAdvertisement,
            Code = 0,
            Flags = NeighborAdvertisementFlags.Router | NeighborAdvertisementFlags.Solicited | NeighborAdvertisementFlags.Override,
            Reserved = 0,
            TargetAddress = Router,
        };
        Assert.True(NeighborAdvertisement.Repr.TryParse(message, out NeighborAdvertisement.Repr repr));
        Assert.Equal(expected, repr);

        byte[] emitted = [.. message];
        emitted.AsSpan(0, 24).Clear();
        Assert.Equal(24, expected.Emit(emitted));
        Assert.True(NeighborAdvertisement.TryCreate(emitted, out na));
        na.FillChecksum(source, destination);
        Assert.Equal(message, emitted);
    }

    [Fact]
    public void Neighbor_advertisement_flags_do_not_spill_into_the_reserved_bits()
    {
        var (message, _, _) = Split(NeighborAdvertisementPacket);
        Assert.True(NeighborAdvertisement.TryCreate(message, out NeighborAdvertisement na));
        na.SetFlags(NeighborAdvertisementFlags.Router, false);
        Assert.Equal(new byte[] { 0x60, 0x00, 0x00, 0x00 }, message[4..8]);
        na.Reserved = 0x1fffffff;
        Assert.Equal(new byte[] { 0x7f, 0xff, 0xff, 0xff }, message[4..8]);
        Assert.Equal(NeighborAdvertisementFlags.Solicited | NeighborAdvertisementFlags.Override, na.Flags);
        na.Flags = NeighborAdvertisementFlags.None;
        Assert.Equal(new byte[] { 0x1f, 0xff, 0xff, 0xff }, message[4..8]);
        Assert.Equal(0x1fffffffu, na.Reserved);
    }

    [Fact]
    public void Neighbor_incremental_setters_give_the_checksum_of_a_full_recompute()
    {
        var random = new Random(2461);
        var (naMessage, naSource, naDestination) = Split(NeighborAdvertisementPacket);
        Assert.True(NeighborAdvertisement.TryCreate(naMessage, out NeighborAdvertisement na));
        var (nsMessage, nsSource, nsDestination) = Split(NeighborSolicitationPacket);
        Assert.True(NeighborSolicitation.TryCreate(nsMessage, out NeighborSolicitation ns));
        byte[] address = new byte[16];
        for (int i = 0; i < 2000; i++)
        {
            random.NextBytes(address);
            switch (random.Next(5))
            {
                case 0: na.SetFlagsUpdatingChecksum((NeighborAdvertisementFlags)random.Next(8)); break;
                case 1: na.SetReservedUpdatingChecksum((uint)random.Next(1 << 29)); break;
                case 2: na.SetTargetAddressUpdatingChecksum(new Ipv6Address(address)); break;
                case 3: ns.SetReservedUpdatingChecksum((uint)random.NextInt64(1L << 32)); break;
                default: ns.SetTargetAddressUpdatingChecksum(new Ipv6Address(address)); break;
            }
            Assert.Equal(na.ComputeChecksum(naSource, naDestination), na.Checksum);
            Assert.Equal(ns.ComputeChecksum(nsSource, nsDestination), ns.Checksum);
        }
    }

    // ---- redirect ----

    [Fact]
    public void Redirect_deconstruct_reads_both_addresses_and_the_redirected_header()
    {
        var (message, source, destination) = Split(RedirectPacket);
        Assert.True(NdpRedirect.TryCreate(message, out NdpRedirect redirect));

        Assert.Equal(Icmpv6Type.Redirect, redirect.Type);
        Assert.Equal(0, redirect.Code);
        Assert.Equal(0x611f, redirect.Checksum);
        Assert.Equal(0u, redirect.Reserved);
        Assert.Equal(Address("fe80::1:2ff:fe03:405"), redirect.TargetAddress);
        Assert.Equal(Address("2001:db8:2::42"), redirect.DestinationAddress);
        Assert.Equal(40, redirect.HeaderLength);
        Assert.Equal(104, redirect.PacketLength);
        Assert.True(redirect.VerifyChecksum(source, destination));

        WireOptionEnumerator options = redirect.EnumerateOptions();
        Assert.True(options.MoveNext());
        Assert.True(NdpLinkLayerAddressOption.TryCreate(options.Current.Raw, out NdpLinkLayerAddressOption lla));
        Assert.Equal(NdpOptionType.TargetLinkLayerAddress, lla.Type);
        Assert.Equal(new MacAddress(0x02, 0x01, 0x02, 0x03, 0x04, 0x05), lla.Address);

        Assert.True(options.MoveNext());
        Assert.Equal((byte)NdpOptionType.RedirectedHeader, options.Current.Type);
        Assert.True(NdpRedirectedHeaderOption.TryCreate(options.Current.Raw, out NdpRedirectedHeaderOption redirected, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(NdpOptionType.RedirectedHeader, redirected.Type);
        Assert.Equal(7, redirected.Length);
        Assert.Equal(0ul, redirected.Reserved);
        Assert.Equal(56, redirected.HeaderLength);
        Assert.Equal(RedirectPacket[96..144], redirected.Variable.ToArray());
        Assert.False(options.MoveNext());
        Assert.False(options.IsMalformed);

        // The quoted packet is cut short, so the checked IPv6 view refuses it: its payload length
        // (48) runs past the 8 bytes quoted after its header.
        Assert.False(Ipv6Packet.Repr.TryParse(redirected.Variable, out _, out WireError quoted));
        Assert.Equal(WireError.BadTotalLength, quoted);
    }

    [Fact]
    public void Redirect_construct_parse_and_emit_agree_with_the_bytes()
    {
        var (message, source, destination) = Split(RedirectPacket);
        byte[] bytes = new byte[104];
        Assert.True(NdpRedirect.TryCreate(bytes, out NdpRedirect redirect));
        redirect.Type = Icmpv6Type.Redirect;
        redirect.Code = 0;
        redirect.Reserved = 0;
        redirect.TargetAddress = Address("fe80::1:2ff:fe03:405");
        redirect.DestinationAddress = Address("2001:db8:2::42");
        Assert.True(NdpLinkLayerAddressOption.TryCreate(redirect.Options, out NdpLinkLayerAddressOption lla));
        lla.Type = NdpOptionType.TargetLinkLayerAddress;
        lla.Length = 1;
        lla.Address = new MacAddress(0x02, 0x01, 0x02, 0x03, 0x04, 0x05);
        Span<byte> rest = redirect.Options[8..];
        rest[1] = 7; // the length first, so that the view covers the quoted packet
        Assert.True(NdpRedirectedHeaderOption.TryCreate(rest, out NdpRedirectedHeaderOption redirected));
        redirected.Type = NdpOptionType.RedirectedHeader;
        redirected.Reserved = 0;
        RedirectPacket.AsSpan(96).CopyTo(redirected.Variable);
        redirect.FillChecksum(source, destination);
        Assert.Equal(message, bytes);

        var expected = new NdpRedirect.Repr
        {
            Type = Icmpv6Type.Redirect,
            Code = 0,
            Reserved = 0,
            TargetAddress = Address("fe80::1:2ff:fe03:405"),
            DestinationAddress = Address("2001:db8:2::42"),
        };
        var redirectedRepr = new NdpRedirectedHeaderOption.Repr { Type = NdpOptionType.RedirectedHeader, Length = 7, Reserved = 0 };
        Assert.True(NdpRedirect.Repr.TryParse(message, out NdpRedirect.Repr repr, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(expected, repr);
        Assert.True(NdpRedirectedHeaderOption.Repr.TryParse(message.AsSpan(48), out NdpRedirectedHeaderOption.Repr redirectedParsed));
        Assert.Equal(redirectedRepr, redirectedParsed);

        byte[] emitted = [.. message];
        emitted.AsSpan(0, 40).Clear();
        emitted.AsSpan(48, 8).Clear();
        Assert.Equal(40, expected.Emit(emitted));
        Assert.Equal(8, redirectedRepr.Emit(emitted.AsSpan(48)));
        Assert.True(NdpRedirect.TryCreate(emitted, out redirect));
        redirect.FillChecksum(source, destination);
        Assert.Equal(message, emitted);
    }

    [Fact]
    public void Redirect_incremental_setters_give_the_checksum_of_a_full_recompute()
    {
        var (message, source, destination) = Split(RedirectPacket);
        var random = new Random(137);
        Assert.True(NdpRedirect.TryCreate(message, out NdpRedirect redirect));
        byte[] address = new byte[16];
        for (int i = 0; i < 2000; i++)
        {
            random.NextBytes(address);
            switch (random.Next(3))
            {
                case 0: redirect.SetReservedUpdatingChecksum((uint)random.NextInt64(1L << 32)); break;
                case 1: redirect.SetTargetAddressUpdatingChecksum(new Ipv6Address(address)); break;
                default: redirect.SetDestinationAddressUpdatingChecksum(new Ipv6Address(address)); break;
            }
            Assert.Equal(redirect.ComputeChecksum(source, destination), redirect.Checksum);
        }
    }

    // ---- refusals ----

    [Fact]
    public void An_option_of_length_zero_stops_the_walk_as_malformed()
    {
        // RFC 4861 4.6: "Nodes MUST silently discard an ND packet that contains an option with length zero."
        var (message, _, _) = Split(RouterAdvertisementPacket);
        message[16 + 8 + 1] = 0; // the MTU option's length
        Assert.True(RouterAdvertisement.TryCreate(message, out RouterAdvertisement ra));

        WireOptionEnumerator options = ra.EnumerateOptions();
        Assert.True(options.MoveNext()); // the link-layer address option before it is fine
        Assert.Equal((byte)NdpOptionType.SourceLinkLayerAddress, options.Current.Type);
        Assert.False(options.MoveNext());
        Assert.True(options.IsMalformed);

        Assert.False(RouterAdvertisement.Repr.TryParse(message, out _, out WireError error));
        Assert.Equal(WireError.BadOptions, error);
    }

    [Fact]
    public void Parse_refuses_an_option_whose_length_runs_past_the_message()
    {
        var (message, _, _) = Split(NeighborSolicitationPacket);
        message[25] = 2; // 16 bytes claimed, 8 present
        Assert.False(NeighborSolicitation.Repr.TryParse(message, out _, out WireError error));
        Assert.Equal(WireError.BadOptions, error);

        (message, _, _) = Split(RouterSolicitationPacket);
        byte[] longer = [.. message, 0x01]; // a type byte with no length byte after it
        Assert.False(RouterSolicitation.Repr.TryParse(longer, out _, out error));
        Assert.Equal(WireError.BadOptions, error);
    }

    private delegate bool Parser(ReadOnlySpan<byte> message, out WireError error);

    private static void AssertRefusesAnotherTypeOrCode(byte[] packet, Parser parse)
    {
        var (message, _, _) = Split(packet);
        Assert.True(parse(message, out WireError error));
        Assert.Equal(WireError.None, error);

        byte type = message[0];
        message[0] = type == 134 ? (byte)133 : (byte)134;
        Assert.False(parse(message, out error));
        Assert.Equal(WireError.UnexpectedValue, error);

        message[0] = type;
        message[1] = 1; // RFC 4861: the code is 0
        Assert.False(parse(message, out error));
        Assert.Equal(WireError.UnexpectedValue, error);
    }

    [Fact]
    public void Parse_refuses_another_type_or_a_code_other_than_zero()
    {
        AssertRefusesAnotherTypeOrCode(RouterSolicitationPacket, (ReadOnlySpan<byte> m, out WireError e) => RouterSolicitation.Repr.TryParse(m, out _, out e));
        AssertRefusesAnotherTypeOrCode(RouterAdvertisementPacket, (ReadOnlySpan<byte> m, out WireError e) => RouterAdvertisement.Repr.TryParse(m, out _, out e));
        AssertRefusesAnotherTypeOrCode(NeighborSolicitationPacket, (ReadOnlySpan<byte> m, out WireError e) => NeighborSolicitation.Repr.TryParse(m, out _, out e));
        AssertRefusesAnotherTypeOrCode(NeighborAdvertisementPacket, (ReadOnlySpan<byte> m, out WireError e) => NeighborAdvertisement.Repr.TryParse(m, out _, out e));
        AssertRefusesAnotherTypeOrCode(RedirectPacket, (ReadOnlySpan<byte> m, out WireError e) => NdpRedirect.Repr.TryParse(m, out _, out e));
    }

    [Fact]
    public void Option_views_refuse_a_wrong_type_or_length()
    {
        WireError error;
        Assert.False(NdpLinkLayerAddressOption.Repr.TryParse([0x01, 0x02, 1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0], out _, out error));
        Assert.Equal(WireError.UnexpectedValue, error); // length 2: not an Ethernet address
        Assert.False(NdpMtuOption.Repr.TryParse([0x01, 0x01, 0, 0, 0, 0, 0x05, 0xdc], out _, out error));
        Assert.Equal(WireError.UnexpectedValue, error); // type 1 is not MTU
        Assert.False(NdpMtuOption.Repr.TryParse([0x05, 0x02, 0, 0, 0, 0, 0x05, 0xdc], out _, out error));
        Assert.Equal(WireError.UnexpectedValue, error);

        var (ra, _, _) = Split(RouterAdvertisementPacket);
        byte[] prefix = ra[32..64];
        prefix[1] = 3;
        Assert.False(NdpPrefixInformationOption.Repr.TryParse(prefix, out _, out error));
        Assert.Equal(WireError.UnexpectedValue, error);
        prefix[1] = 4;
        prefix[0] = 1;
        Assert.False(NdpPrefixInformationOption.Repr.TryParse(prefix, out _, out error));
        Assert.Equal(WireError.UnexpectedValue, error);

        var (redirect, _, _) = Split(RedirectPacket);
        byte[] redirected = redirect[48..];
        redirected[0] = 5;
        Assert.False(NdpRedirectedHeaderOption.Repr.TryParse(redirected, out _, out error));
        Assert.Equal(WireError.UnexpectedValue, error);
    }

    [Fact]
    public void Redirected_header_option_refuses_a_length_below_one_unit_or_past_the_buffer()
    {
        var (redirect, _, _) = Split(RedirectPacket);
        byte[] redirected = redirect[48..];
        redirected[1] = 0;
        Assert.False(NdpRedirectedHeaderOption.TryCreate(redirected, out _, out WireError error));
        Assert.Equal(WireError.BadHeaderLength, error);
        redirected[1] = 8; // 64 bytes, 56 present
        Assert.False(NdpRedirectedHeaderOption.TryCreate(redirected, out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);
        Assert.False(NdpRedirectedHeaderOption.Repr.TryParse(redirected, out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);
        redirected[1] = 1;
        Assert.True(NdpRedirectedHeaderOption.TryCreate(redirected, out NdpRedirectedHeaderOption option));
        Assert.True(option.Variable.IsEmpty);
    }

    [Fact]
    public void TryCreate_refuses_every_buffer_shorter_than_the_fixed_part()
    {
        var (redirect, _, _) = Split(RedirectPacket);
        for (int length = 0; length < NdpRedirect.FixedLength; length++)
        {
            byte[] bytes = redirect[..length];
            WireError error;
            Assert.Equal(length >= 8, RouterSolicitation.TryCreate(bytes, out _, out error));
            Assert.Equal(length >= 8 ? WireError.None : WireError.Truncated, error);
            Assert.Equal(length >= 16, RouterAdvertisement.TryCreate(bytes, out _, out error));
            Assert.Equal(length >= 16 ? WireError.None : WireError.Truncated, error);
            Assert.Equal(length >= 24, NeighborSolicitation.TryCreate(bytes, out _, out error));
            Assert.Equal(length >= 24 ? WireError.None : WireError.Truncated, error);
            Assert.Equal(length >= 24, NeighborAdvertisement.TryCreate(bytes, out _, out error));
            Assert.Equal(length >= 24 ? WireError.None : WireError.Truncated, error);
            Assert.False(NdpRedirect.TryCreate(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(NdpRedirect.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);

            if (length < 8)
            {
                Assert.False(NdpLinkLayerAddressOption.TryCreate(bytes, out _, out error));
                Assert.Equal(WireError.Truncated, error);
                Assert.False(NdpMtuOption.TryCreate(bytes, out _, out error));
                Assert.Equal(WireError.Truncated, error);
                Assert.False(NdpRedirectedHeaderOption.TryCreate(bytes, out _, out error));
                Assert.Equal(WireError.Truncated, error);
            }
            if (length < 32)
            {
                Assert.False(NdpPrefixInformationOption.TryCreate(bytes, out _, out error));
                Assert.Equal(WireError.Truncated, error);
            }
        }
    }
}
