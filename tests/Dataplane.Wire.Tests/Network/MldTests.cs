namespace Dataplane.Wire.Tests.Network;

/// <summary>MLDv2 queries and reports (RFC 3810), carried in ICMPv6 behind a hop-by-hop router alert.</summary>
public class MldTests
{
    // The MLDv2 report Linux sends on joining ff02::fb (mDNS): hop limit 1, a hop-by-hop header with
    // router alert 0 (RFC 2711) and PadN, one CHANGE_TO_EXCLUDE_MODE record. Made with scapy 2.5.0:
    //   Ether(dst="33:33:00:00:00:16", src="52:54:00:12:34:56")/IPv6(hlim=1, src="fe80::5054:ff:fe12:3456", dst="ff02::16")
    //     /IPv6ExtHdrHopByHop(options=[RouterAlert(value=0), PadN(optdata=b"")])
    //     /ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(rtype=4, dst="ff02::fb")])
    private static readonly byte[] JoinReportFrame =
    [
        // Ethernet @ 0
        0x33, 0x33, 0x00, 0x00, 0x00, 0x16, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x86, 0xdd,
        // IPv6 @ 14
        0x60, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x01, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x50, 0x54, 0x00, 0xff, 0xfe, 0x12, 0x34, 0x56, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x16,
        // hop-by-hop @ 54
        0x3a, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00,
        // MLDv2 report @ 62
        0x8f, 0x00, 0xeb, 0x53, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0xff, 0x02, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfb,
    ];

    // A general query from the router: maximum response code 10000 ms, QRV 2, QQIC 125. Made with scapy 2.5.0:
    //   IPv6(hlim=1, src="fe80::21a:2bff:fe3c:4d5e", dst="ff02::1")/IPv6ExtHdrHopByHop(options=[RouterAlert(value=0), PadN(optdata=b"")])
    //     /ICMPv6MLQuery2(mrd=10000, mladdr="::", S=0, QRV=2, QQIC=125)
    private static readonly byte[] GeneralQuery =
    [
        0x82, 0x00, 0xdc, 0xe2, 0x27, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x7d, 0x00, 0x00,
    ];

    // A multicast-address-and-source-specific query for ff3e::8000:1 (SSM) from two sources, S set.
    // Made with scapy 2.5.0:
    //   IPv6(hlim=1, src="fe80::21a:2bff:fe3c:4d5e", dst="ff3e::8000:1")/IPv6ExtHdrHopByHop(...)
    //     /ICMPv6MLQuery2(mrd=1000, mladdr="ff3e::8000:1", S=1, QRV=2, QQIC=125, sources=["2001:db8:9::10", "2001:db8:9::11"])
    private static readonly byte[] SourceQuery =
    [
        0x82, 0x00, 0x9c, 0xc6, 0x03, 0xe8, 0x00, 0x00, 0xff, 0x3e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x01, 0x0a, 0x7d, 0x00, 0x02,
        // sources @ 28
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11,
    ];

    // A report with two records: ALLOW_NEW_SOURCES for ff3e::8000:1 with one source and one word of
    // auxiliary data, then BLOCK_OLD_SOURCES for ff3e::8000:2 without sources. Built with python3
    // struct.pack, checksummed with scapy 2.5.0's in6_chksum over
    // IPv6(src="fe80::5054:ff:fe12:3456", dst="ff02::16").
    private static readonly byte[] TwoRecordReport =
    [
        0x8f, 0x00, 0x1a, 0x35, 0x00, 0x00, 0x00, 0x02,
        // record 1 @ 8
        0x05, 0x01, 0x00, 0x01, 0xff, 0x3e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x80, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x10, 0xde, 0xad, 0xbe, 0xef,
        // record 2 @ 48
        0x06, 0x00, 0x00, 0x00, 0xff, 0x3e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x80, 0x00, 0x00, 0x02,
    ];

    private static Ipv6Address Address(string text)
    {
        Assert.True(Ipv6Address.TryParse(text, out Ipv6Address address));
        return address;
    }

    private static readonly Ipv6Address Host = Address("fe80::5054:ff:fe12:3456");
    private static readonly Ipv6Address Router = Address("fe80::21a:2bff:fe3c:4d5e");
    private static readonly Ipv6Address AllMldv2Routers = Address("ff02::16");

    private static readonly MldV2Query.Repr SourceQueryRepr = new()
    {
        Type = Icmpv6Type.MulticastListenerQuery,
        Code = 0,
        MaxResponseCode = 1000,
        Reserved1 = 0,
        MulticastAddress = Address("ff3e::8000:1"),
        Reserved2 = 0,
        SuppressRouterProcessing = true,
        QuerierRobustness = 2,
        QuerierQueryIntervalCode = 125,
        NumberOfSources = 2,
    };

    [Fact]
    public void Report_deconstruct_walks_from_the_frame_through_the_router_alert_to_the_record()
    {
        byte[] bytes = [.. JoinReportFrame];
        Assert.True(EthernetFrame.TryCreate(bytes, out EthernetFrame frame));
        Assert.Equal(EtherType.Ipv6, frame.EtherType);
        Assert.True(Ipv6Packet.TryCreate(frame.Payload, out Ipv6Packet ip));
        Assert.Equal(1, ip.HopLimit);
        Assert.Equal(IpProtocol.HopByHop, ip.NextHeader);
        Assert.True(Ipv6HopByHopHeader.TryCreate(ip.Payload, out Ipv6HopByHopHeader hopByHop));
        Assert.Equal(IpProtocol.Icmpv6, hopByHop.NextHeader);
        WireOptionEnumerator options = hopByHop.EnumerateOptions();
        Assert.True(options.MoveNext());
        Assert.Equal(5, options.Current.Type);

        Assert.True(MldV2Report.TryCreate(hopByHop.Payload, out MldV2Report report, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(Icmpv6Type.MulticastListenerReportV2, report.Type);
        Assert.Equal(0, report.Reserved1);
        Assert.Equal(0xeb53, report.Checksum);
        Assert.Equal(0, report.Reserved2);
        Assert.Equal(1, report.NumberOfRecords);
        Assert.Equal(8, report.HeaderLength);
        Assert.Equal(28, report.PacketLength);
        // RFC 8200 8.1: the upper-layer length of the pseudo-header is that of the ICMPv6 message,
        // without the hop-by-hop header in front of it.
        Assert.True(report.VerifyChecksum(ip.Source, ip.Destination));

        WireRecordEnumerator<MldV2AddressRecord> records = report.EnumerateRecords();
        Assert.True(records.MoveNext());
        MldV2AddressRecord record = records.Current;
        Assert.Equal(4, record.RecordType); // CHANGE_TO_EXCLUDE_MODE
        Assert.Equal(0, record.AuxiliaryDataLength);
        Assert.Equal(0, record.NumberOfSources);
        Assert.Equal(Address("ff02::fb"), record.MulticastAddress);
        Assert.Equal(20, record.HeaderLength);
        Assert.False(records.MoveNext());
        Assert.False(records.IsMalformed);
    }

    [Fact]
    public void Report_deconstruct_walks_records_with_sources_and_auxiliary_data()
    {
        byte[] bytes = [.. TwoRecordReport];
        Assert.True(MldV2Report.TryCreate(bytes, out MldV2Report report));
        Assert.Equal(2, report.NumberOfRecords);
        Assert.True(report.VerifyChecksum(Host, AllMldv2Routers));

        WireRecordEnumerator<MldV2AddressRecord> records = report.EnumerateRecords();
        Assert.True(records.MoveNext());
        MldV2AddressRecord first = records.Current;
        Assert.Equal(5, first.RecordType);
        Assert.Equal(1, first.AuxiliaryDataLength);
        Assert.Equal(1, first.NumberOfSources);
        Assert.Equal(Address("ff3e::8000:1"), first.MulticastAddress);
        Assert.Equal(40, first.HeaderLength); // 20 + 1 source * 16 + 1 aux word * 4
        Assert.Equal(Address("2001:db8:9::10"), new Ipv6Address(first.Variable));
        Assert.Equal(new byte[] { 0xde, 0xad, 0xbe, 0xef }, first.Variable[16..].ToArray());

        Assert.True(records.MoveNext());
        MldV2AddressRecord second = records.Current;
        Assert.Equal(6, second.RecordType);
        Assert.Equal(0, second.NumberOfSources);
        Assert.Equal(Address("ff3e::8000:2"), second.MulticastAddress);
        Assert.Equal(20, second.HeaderLength);
        Assert.False(records.MoveNext());
        Assert.False(records.IsMalformed);
    }

    [Fact]
    public void Report_walk_is_malformed_when_a_record_does_not_fit()
    {
        byte[] bytes = [.. TwoRecordReport];
        bytes[51] = 1; // the second record claims a source that is not there
        Assert.True(MldV2Report.TryCreate(bytes, out MldV2Report report));
        WireRecordEnumerator<MldV2AddressRecord> records = report.EnumerateRecords();
        Assert.True(records.MoveNext());
        Assert.False(records.MoveNext());
        Assert.True(records.IsMalformed);
    }

    [Fact]
    public void Report_construct_through_the_setters_gives_the_bytes()
    {
        byte[] bytes = new byte[TwoRecordReport.Length];
        Assert.True(MldV2Report.TryCreate(bytes, out MldV2Report report));
        report.Type = Icmpv6Type.MulticastListenerReportV2;
        report.Reserved1 = 0;
        report.Reserved2 = 0;
        report.NumberOfRecords = 2;

        Span<byte> rest = report.Payload;
        rest[1] = 1; // auxiliary length and source count first, so that the view covers them
        rest[3] = 1;
        Assert.True(MldV2AddressRecord.TryCreate(rest, out MldV2AddressRecord first));
        first.RecordType = 5;
        first.AuxiliaryDataLength = 1;
        first.NumberOfSources = 1;
        first.MulticastAddress = Address("ff3e::8000:1");
        Address("2001:db8:9::10").CopyTo(first.Variable);
        byte[] aux = [0xde, 0xad, 0xbe, 0xef];
        aux.CopyTo(first.Variable[16..]);

        Assert.True(MldV2AddressRecord.TryCreate(rest[first.HeaderLength..], out MldV2AddressRecord second));
        second.RecordType = 6;
        second.MulticastAddress = Address("ff3e::8000:2");

        report.FillChecksum(Host, AllMldv2Routers);
        Assert.Equal(TwoRecordReport, bytes);
    }

    [Fact]
    public void Report_and_record_parse_and_emit_agree_with_the_bytes()
    {
        var reportRepr = new MldV2Report.Repr { Type = Icmpv6Type.MulticastListenerReportV2, NumberOfRecords = 2 };
        var firstRepr = new MldV2AddressRecord.Repr { RecordType = 5, AuxiliaryDataLength = 1, NumberOfSources = 1, MulticastAddress = Address("ff3e::8000:1") };
        var secondRepr = new MldV2AddressRecord.Repr { RecordType = 6, MulticastAddress = Address("ff3e::8000:2") };

        Assert.True(MldV2Report.Repr.TryParse(TwoRecordReport, out MldV2Report.Repr report, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(reportRepr, report);
        Assert.True(MldV2AddressRecord.Repr.TryParse(TwoRecordReport.AsSpan(8), out MldV2AddressRecord.Repr first));
        Assert.Equal(firstRepr, first);
        Assert.True(MldV2AddressRecord.Repr.TryParse(TwoRecordReport.AsSpan(48), out MldV2AddressRecord.Repr second));
        Assert.Equal(secondRepr, second);

        byte[] bytes = new byte[TwoRecordReport.Length];
        TwoRecordReport.AsSpan(28, 20).CopyTo(bytes.AsSpan(28));
        Assert.Equal(8, reportRepr.Emit(bytes));
        Assert.Equal(20, firstRepr.Emit(bytes.AsSpan(8)));
        Assert.Equal(20, secondRepr.Emit(bytes.AsSpan(48)));
        Assert.True(MldV2Report.TryCreate(bytes, out MldV2Report view));
        view.FillChecksum(Host, AllMldv2Routers);
        Assert.Equal(TwoRecordReport, bytes);
    }

    [Fact]
    public void Report_parse_refuses_another_type()
    {
        byte[] bytes = [.. TwoRecordReport];
        bytes[0] = 131; // an MLDv1 report
        Assert.False(MldV2Report.Repr.TryParse(bytes, out _, out WireError error));
        Assert.Equal(WireError.UnexpectedValue, error);
    }

    [Fact]
    public void Report_incremental_setters_give_the_checksum_of_a_full_recompute()
    {
        var random = new Random(143);
        byte[] bytes = [.. TwoRecordReport];
        Assert.True(MldV2Report.TryCreate(bytes, out MldV2Report report));
        for (int i = 0; i < 2000; i++)
        {
            switch (random.Next(3))
            {
                case 0: report.SetReserved1UpdatingChecksum((byte)random.Next(256)); break;
                case 1: report.SetReserved2UpdatingChecksum((ushort)random.Next(65536)); break;
                default: report.SetNumberOfRecordsUpdatingChecksum((ushort)random.Next(65536)); break;
            }
            Assert.Equal(report.ComputeChecksum(Host, AllMldv2Routers), report.Checksum);
        }
    }

    [Fact]
    public void Query_deconstruct_reads_a_general_query()
    {
        byte[] bytes = [.. GeneralQuery];
        Assert.True(MldV2Query.TryCreate(bytes, out MldV2Query query, out WireError error));

        Assert.Equal(WireError.None, error);
        Assert.Equal(Icmpv6Type.MulticastListenerQuery, query.Type);
        Assert.Equal(0, query.Code);
        Assert.Equal(0xdce2, query.Checksum);
        Assert.Equal(10000, query.MaxResponseCode);
        Assert.Equal(0, query.Reserved1);
        Assert.Equal(Ipv6Address.Any, query.MulticastAddress);
        Assert.Equal(0, query.Reserved2);
        Assert.False(query.SuppressRouterProcessing);
        Assert.Equal(2, query.QuerierRobustness);
        Assert.Equal(125, query.QuerierQueryIntervalCode);
        Assert.Equal(0, query.NumberOfSources);
        Assert.Equal(28, query.HeaderLength);
        Assert.True(query.Variable.IsEmpty);
        Assert.True(query.VerifyChecksum(Router, Address("ff02::1")));
    }

    [Fact]
    public void Query_deconstruct_reads_the_source_list()
    {
        byte[] bytes = [.. SourceQuery];
        Assert.True(MldV2Query.TryCreate(bytes, out MldV2Query query));

        Assert.Equal(1000, query.MaxResponseCode);
        Assert.Equal(Address("ff3e::8000:1"), query.MulticastAddress);
        Assert.True(query.SuppressRouterProcessing);
        Assert.Equal(2, query.NumberOfSources);
        Assert.Equal(60, query.HeaderLength);
        Assert.Equal(60, query.PacketLength);
        Assert.Equal(Address("2001:db8:9::10"), new Ipv6Address(query.Variable));
        Assert.Equal(Address("2001:db8:9::11"), new Ipv6Address(query.Variable[16..]));
        Assert.True(query.VerifyChecksum(Router, Address("ff3e::8000:1")));
    }

    [Fact]
    public void Query_construct_through_the_setters_gives_the_bytes()
    {
        byte[] bytes = new byte[SourceQuery.Length];
        bytes[27] = 2;
        Assert.True(MldV2Query.TryCreate(bytes, out MldV2Query query));
        query.Type = Icmpv6Type.MulticastListenerQuery;
        query.Code = 0;
        query.MaxResponseCode = 1000;
        query.Reserved1 = 0;
        query.MulticastAddress = Address("ff3e::8000:1");
        query.Reserved2 = 0;
        query.SuppressRouterProcessing = true;
        query.QuerierRobustness = 2;
        query.QuerierQueryIntervalCode = 125;
        query.NumberOfSources = 2;
        Address("2001:db8:9::10").CopyTo(query.Variable);
        Address("2001:db8:9::11").CopyTo(query.Variable[16..]);
        query.FillChecksum(Router, Address("ff3e::8000:1"));

        Assert.Equal(SourceQuery, bytes);
    }

    [Fact]
    public void Query_parse_and_emit_agree_with_the_bytes()
    {
        Assert.True(MldV2Query.Repr.TryParse(SourceQuery, out MldV2Query.Repr repr, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(SourceQueryRepr, repr);

        byte[] bytes = new byte[SourceQuery.Length];
        SourceQuery.AsSpan(28).CopyTo(bytes.AsSpan(28));
        Assert.Equal(28, SourceQueryRepr.Emit(bytes));
        Assert.True(MldV2Query.TryCreate(bytes, out MldV2Query query));
        query.FillChecksum(Router, Address("ff3e::8000:1"));
        Assert.Equal(SourceQuery, bytes);
    }

    [Fact]
    public void Query_parse_refuses_another_type()
    {
        byte[] bytes = [.. GeneralQuery];
        bytes[0] = 131;
        Assert.False(MldV2Query.Repr.TryParse(bytes, out _, out WireError error));
        Assert.Equal(WireError.UnexpectedValue, error);
    }

    [Fact]
    public void Query_refuses_a_source_count_past_the_buffer()
    {
        byte[] bytes = [.. SourceQuery];
        bytes[27] = 3;
        Assert.False(MldV2Query.TryCreate(bytes, out _, out WireError error));
        Assert.Equal(WireError.BadHeaderLength, error);
        Assert.False(MldV2Query.Repr.TryParse(bytes, out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);
    }

    [Fact]
    public void An_mldv1_query_is_too_short_for_an_mldv2_query()
    {
        // RFC 3810 8.1: a 24-byte query is MLDv1; the MLDv2 view needs 28 bytes.
        Assert.False(MldV2Query.TryCreate(GeneralQuery.AsSpan(0, 24).ToArray(), out _, out WireError error));
        Assert.Equal(WireError.Truncated, error);
    }

    [Fact]
    public void Query_incremental_setters_give_the_checksum_of_a_full_recompute()
    {
        var random = new Random(3810);
        byte[] bytes = [.. SourceQuery];
        Ipv6Address destination = Address("ff3e::8000:1");
        Assert.True(MldV2Query.TryCreate(bytes, out MldV2Query query));
        for (int i = 0; i < 2000; i++)
        {
            switch (random.Next(8))
            {
                case 0: query.SetCodeUpdatingChecksum((byte)random.Next(256)); break;
                case 1: query.SetMaxResponseCodeUpdatingChecksum((ushort)random.Next(65536)); break;
                case 2: query.SetReserved1UpdatingChecksum((ushort)random.Next(65536)); break;
                case 3:
                    byte[] address = new byte[16];
                    random.NextBytes(address);
                    query.SetMulticastAddressUpdatingChecksum(new Ipv6Address(address));
                    break;
                case 4: query.SetReserved2UpdatingChecksum((byte)random.Next(16)); break;
                case 5: query.SetSuppressRouterProcessingUpdatingChecksum(random.Next(2) == 1); break;
                case 6: query.SetQuerierRobustnessUpdatingChecksum((byte)random.Next(8)); break;
                default: query.SetQuerierQueryIntervalCodeUpdatingChecksum((byte)random.Next(256)); break;
            }
            Assert.Equal(query.ComputeChecksum(Router, destination), query.Checksum);
        }
    }

    [Fact]
    public void TryCreate_refuses_every_buffer_shorter_than_the_fixed_part()
    {
        for (int length = 0; length < MldV2Query.FixedLength; length++)
        {
            byte[] bytes = SourceQuery.AsSpan(0, length).ToArray();
            WireError error;
            Assert.False(MldV2Query.TryCreate(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(MldV2Query.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
        }
        for (int length = 0; length < MldV2AddressRecord.FixedLength; length++)
        {
            byte[] bytes = TwoRecordReport.AsSpan(48, length).ToArray();
            Assert.False(MldV2AddressRecord.TryCreate(bytes, out _, out WireError error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(MldV2AddressRecord.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
        }
        for (int length = 0; length < MldV2Report.FixedLength; length++)
        {
            byte[] bytes = TwoRecordReport.AsSpan(0, length).ToArray();
            Assert.False(MldV2Report.TryCreate(bytes, out _, out WireError error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(MldV2Report.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
        }
    }

    [Fact]
    public void Address_record_refuses_sources_or_auxiliary_data_past_the_buffer()
    {
        byte[] record = [.. TwoRecordReport[8..48]];
        Assert.True(MldV2AddressRecord.TryCreate(record, out _));
        Assert.False(MldV2AddressRecord.TryCreate(record.AsSpan(0, 39).ToArray(), out _, out WireError error));
        Assert.Equal(WireError.BadHeaderLength, error);
        record[3] = 2;
        Assert.False(MldV2AddressRecord.Repr.TryParse(record, out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);
    }
}
