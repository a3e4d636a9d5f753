namespace Dataplane.Wire.Tests.Network;

/// <summary>IGMPv2 (RFC 2236) and IGMPv3 (RFC 3376) messages.</summary>
public class IgmpTests
{
    // The IGMPv2 report Linux sends on joining 224.0.0.251 (its IPv4 header is in Ipv4PacketTests).
    // Made with scapy 2.5.0: IGMP(type=0x16, mrcode=0, gaddr="224.0.0.251")
    private static readonly byte[] V2Report = [0x16, 0x00, 0x09, 0x04, 0xe0, 0x00, 0x00, 0xfb];

    // A general query with a 10-second maximum response time. Made with scapy 2.5.0:
    //   IGMP(type=0x11, mrcode=100, gaddr="0.0.0.0")
    private static readonly byte[] V2GeneralQuery = [0x11, 0x64, 0xee, 0x9b, 0x00, 0x00, 0x00, 0x00];

    // Leave group 239.1.2.3. Made with scapy 2.5.0: IGMP(type=0x17, mrcode=0, gaddr="239.1.2.3")
    private static readonly byte[] V2Leave = [0x17, 0x00, 0xf7, 0xfa, 0xef, 0x01, 0x02, 0x03];

    // An IGMPv3 general query: QRV 2, QQIC 125 s, 10 s to respond. Made with scapy 2.5.0:
    //   IGMPv3(type=0x11, mrcode=100)/IGMPv3mq(gaddr="0.0.0.0", resv=0, s=0, qrv=2, qqic=125)
    private static readonly byte[] V3GeneralQuery =
    [
        0x11, 0x64, 0xec, 0x1e, 0x00, 0x00, 0x00, 0x00, 0x02, 0x7d, 0x00, 0x00,
    ];

    // A group-and-source-specific query for 232.1.1.1 from two sources, S flag set. Made with scapy 2.5.0:
    //   IGMPv3(type=0x11, mrcode=10)/IGMPv3mq(gaddr="232.1.1.1", s=1, qrv=2, qqic=125, srcaddrs=["192.0.2.10", "192.0.2.11"])
    private static readonly byte[] V3SourceQuery =
    [
        0x11, 0x0a, 0x77, 0x5d, 0xe8, 0x01, 0x01, 0x01, 0x0a, 0x7d, 0x00, 0x02,
        0xc0, 0x00, 0x02, 0x0a, 0xc0, 0x00, 0x02, 0x0b,
    ];

    // The IGMPv3 report Linux sends on joining 224.0.0.251: one CHANGE_TO_EXCLUDE_MODE record without
    // sources. Made with scapy 2.5.0: IGMPv3(type=0x22)/IGMPv3mr(records=[IGMPv3gr(rtype=4, maddr="224.0.0.251")])
    private static readonly byte[] V3JoinReport =
    [
        0x22, 0x00, 0xf9, 0x02, 0x00, 0x00, 0x00, 0x01,
        0x04, 0x00, 0x00, 0x00, 0xe0, 0x00, 0x00, 0xfb,
    ];

    // A report with two records: ALLOW_NEW_SOURCES for 232.1.1.1 with two sources and one word of
    // auxiliary data, then BLOCK_OLD_SOURCES for 232.1.1.2 with one source. Built with python3
    // struct.pack and checksummed with scapy 2.5.0's checksum().
    private static readonly byte[] V3TwoRecordReport =
    [
        0x22, 0x00, 0x1d, 0x32, 0x00, 0x00, 0x00, 0x02,
        // record 1 @ 8
        0x05, 0x01, 0x00, 0x02, 0xe8, 0x01, 0x01, 0x01, 0xc0, 0x00, 0x02, 0x0a, 0xc0, 0x00, 0x02, 0x0b,
        0xde, 0xad, 0xbe, 0xef,
        // record 2 @ 28
        0x06, 0x00, 0x00, 0x01, 0xe8, 0x01, 0x01, 0x02, 0xc0, 0x00, 0x02, 0x0c,
    ];

    private static readonly IgmpV3Query.Repr SourceQueryRepr = new()
    {
        Type = IgmpType.MembershipQuery,
        MaxResponseCode = 10,
        GroupAddress = new Ipv4Address(232, 1, 1, 1),
        Reserved = 0,
        SuppressRouterProcessing = true,
        QuerierRobustness = 2,
        QuerierQueryIntervalCode = 125,
        NumberOfSources = 2,
    };

    // ---- IGMPv2 ----

    [Fact]
    public void V2_deconstruct_reads_a_report_a_query_and_a_leave()
    {
        byte[] bytes = [.. V2Report];
        Assert.True(IgmpV2Message.TryCreate(bytes, out IgmpV2Message report, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(IgmpType.MembershipReportV2, report.Type);
        Assert.Equal(0, report.MaxResponseTime);
        Assert.Equal(0x0904, report.Checksum);
        Assert.Equal(new Ipv4Address(224, 0, 0, 251), report.GroupAddress);
        Assert.Equal(8, report.HeaderLength);
        Assert.Equal(8, report.PacketLength);
        Assert.True(report.Payload.IsEmpty);
        Assert.True(report.VerifyChecksum());

        bytes = [.. V2GeneralQuery];
        Assert.True(IgmpV2Message.TryCreate(bytes, out IgmpV2Message query));
        Assert.Equal(IgmpType.MembershipQuery, query.Type);
        Assert.Equal(100, query.MaxResponseTime);
        Assert.Equal(Ipv4Address.Any, query.GroupAddress);
        Assert.True(query.VerifyChecksum());

        bytes = [.. V2Leave];
        Assert.True(IgmpV2Message.TryCreate(bytes, out IgmpV2Message leave));
        Assert.Equal(IgmpType.LeaveGroup, leave.Type);
        Assert.Equal(new Ipv4Address(239, 1, 2, 3), leave.GroupAddress);
        Assert.True(leave.VerifyChecksum());
    }

    [Fact]
    public void V2_construct_through_the_setters_gives_the_report()
    {
        byte[] bytes = new byte[8];
        Assert.True(IgmpV2Message.TryCreate(bytes, out IgmpV2Message message));
        message.Type = IgmpType.MembershipReportV2;
        message.MaxResponseTime = 0;
        message.GroupAddress = new Ipv4Address(224, 0, 0, 251);
        message.FillChecksum();
        Assert.Equal(V2Report, bytes);
    }

    [Fact]
    public void V2_parse_and_emit_agree_with_the_bytes()
    {
        var expected = new IgmpV2Message.Repr { Type = IgmpType.LeaveGroup, MaxResponseTime = 0, GroupAddress = new Ipv4Address(239, 1, 2, 3) };
        Assert.True(IgmpV2Message.Repr.TryParse(V2Leave, out IgmpV2Message.Repr repr, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(expected, repr);

        byte[] bytes = new byte[8];
        Assert.Equal(8, expected.Emit(bytes));
        Assert.True(IgmpV2Message.TryCreate(bytes, out IgmpV2Message message));
        message.FillChecksum();
        Assert.Equal(V2Leave, bytes);
    }

    [Fact]
    public void V2_parse_refuses_a_corrupted_checksum()
    {
        byte[] bytes = [.. V2Report];
        bytes[7] = 0xfc; // 224.0.0.252, checksum not updated
        Assert.False(IgmpV2Message.Repr.TryParse(bytes, out _, out WireError error));
        Assert.Equal(WireError.BadChecksum, error);
    }

    [Fact]
    public void V2_incremental_setters_give_the_checksum_of_a_full_recompute()
    {
        var random = new Random(2236);
        byte[] bytes = [.. V2GeneralQuery];
        Assert.True(IgmpV2Message.TryCreate(bytes, out IgmpV2Message message));
        for (int i = 0; i < 2000; i++)
        {
            switch (random.Next(3))
            {
                case 0: message.SetGroupAddressUpdatingChecksum(Ipv4Address.FromUInt32((uint)random.NextInt64(1L << 32))); break;
                case 1: message.SetMaxResponseTimeUpdatingChecksum((byte)random.Next(256)); break;
                default: message.SetTypeUpdatingChecksum((IgmpType)random.Next(256)); break;
            }
            Assert.Equal(message.ComputeChecksum(), message.Checksum);
        }
    }

    // ---- IGMPv3 query ----

    [Fact]
    public void V3_query_deconstruct_reads_a_general_query()
    {
        byte[] bytes = [.. V3GeneralQuery];
        Assert.True(IgmpV3Query.TryCreate(bytes, out IgmpV3Query query, out WireError error));

        Assert.Equal(WireError.None, error);
        Assert.Equal(IgmpType.MembershipQuery, query.Type);
        Assert.Equal(100, query.MaxResponseCode);
        Assert.Equal(0xec1e, query.Checksum);
        Assert.Equal(Ipv4Address.Any, query.GroupAddress);
        Assert.Equal(0, query.Reserved);
        Assert.False(query.SuppressRouterProcessing);
        Assert.Equal(2, query.QuerierRobustness);
        Assert.Equal(125, query.QuerierQueryIntervalCode);
        Assert.Equal(0, query.NumberOfSources);
        Assert.Equal(12, query.HeaderLength);
        Assert.True(query.Variable.IsEmpty);
        Assert.True(query.Payload.IsEmpty);
        Assert.True(query.VerifyChecksum());
    }

    [Fact]
    public void V3_query_deconstruct_reads_the_source_list()
    {
        byte[] bytes = [.. V3SourceQuery];
        Assert.True(IgmpV3Query.TryCreate(bytes, out IgmpV3Query query));

        Assert.Equal(10, query.MaxResponseCode);
        Assert.Equal(new Ipv4Address(232, 1, 1, 1), query.GroupAddress);
        Assert.True(query.SuppressRouterProcessing);
        Assert.Equal(2, query.QuerierRobustness);
        Assert.Equal(2, query.NumberOfSources);
        Assert.Equal(20, query.HeaderLength); // the sources are part of the header
        Assert.Equal(20, query.PacketLength);
        Assert.Equal(new Ipv4Address(192, 0, 2, 10), new Ipv4Address(query.Variable));
        Assert.Equal(new Ipv4Address(192, 0, 2, 11), new Ipv4Address(query.Variable[4..]));
        Assert.True(query.VerifyChecksum());
    }

    [Fact]
    public void V3_query_construct_through_the_setters_gives_the_bytes()
    {
        byte[] bytes = new byte[20];
        bytes[11] = 2; // the source count first, so that the view covers the sources
        Assert.True(IgmpV3Query.TryCreate(bytes, out IgmpV3Query query));
        query.Type = IgmpType.MembershipQuery;
        query.MaxResponseCode = 10;
        query.GroupAddress = new Ipv4Address(232, 1, 1, 1);
        query.Reserved = 0;
        query.SuppressRouterProcessing = true;
        query.QuerierRobustness = 2;
        query.QuerierQueryIntervalCode = 125;
        query.NumberOfSources = 2;
        new Ipv4Address(192, 0, 2, 10).CopyTo(query.Variable);
        new Ipv4Address(192, 0, 2, 11).CopyTo(query.Variable[4..]);
        query.FillChecksum();

        Assert.Equal(V3SourceQuery, bytes);
    }

    [Fact]
    public void V3_query_parse_and_emit_agree_with_the_bytes()
    {
        Assert.True(IgmpV3Query.Repr.TryParse(V3SourceQuery, out IgmpV3Query.Repr repr, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(SourceQueryRepr, repr);

        byte[] bytes = new byte[20];
        V3SourceQuery.AsSpan(12).CopyTo(bytes.AsSpan(12));
        Assert.Equal(12, SourceQueryRepr.Emit(bytes));
        Assert.True(IgmpV3Query.TryCreate(bytes, out IgmpV3Query query));
        query.FillChecksum();
        Assert.Equal(V3SourceQuery, bytes);
    }

    [Fact]
    public void V3_query_parse_refuses_another_type_and_a_bad_checksum()
    {
        byte[] bytes = [.. V3GeneralQuery];
        Assert.True(IgmpV3Query.TryCreate(bytes, out IgmpV3Query query));
        query.Type = IgmpType.MembershipReportV3;
        query.FillChecksum();
        Assert.False(IgmpV3Query.Repr.TryParse(bytes, out _, out WireError error));
        Assert.Equal(WireError.UnexpectedValue, error);

        bytes = [.. V3SourceQuery];
        bytes[19] ^= 1; // a source address, covered by the checksum
        Assert.False(IgmpV3Query.Repr.TryParse(bytes, out _, out error));
        Assert.Equal(WireError.BadChecksum, error);
    }

    [Fact]
    public void V3_query_refuses_a_source_count_past_the_buffer()
    {
        byte[] bytes = [.. V3SourceQuery];
        bytes[11] = 3; // three sources, two present
        Assert.False(IgmpV3Query.TryCreate(bytes, out _, out WireError error));
        Assert.Equal(WireError.BadHeaderLength, error);
        Assert.False(IgmpV3Query.Repr.TryParse(bytes, out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);

        bytes[10] = 0xff;
        bytes[11] = 0xff; // 65535 sources: 262152 bytes, no overflow
        Assert.False(IgmpV3Query.TryCreate(bytes, out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);
    }

    [Fact]
    public void V3_query_bits_of_byte_8_do_not_spill_into_each_other()
    {
        byte[] bytes = [.. V3GeneralQuery];
        Assert.True(IgmpV3Query.TryCreate(bytes, out IgmpV3Query query));
        query.SuppressRouterProcessing = true;
        Assert.Equal(0x0a, bytes[8]);
        query.QuerierRobustness = 7;
        Assert.Equal(0x0f, bytes[8]);
        query.Reserved = 0xf;
        Assert.Equal(0xff, bytes[8]);
        query.SuppressRouterProcessing = false;
        Assert.Equal(0xf7, bytes[8]);
        Assert.Equal(7, query.QuerierRobustness);
        Assert.Equal(0xf, query.Reserved);
        Assert.Equal(125, query.QuerierQueryIntervalCode);
    }

    [Fact]
    public void V3_query_incremental_setters_give_the_checksum_of_a_full_recompute()
    {
        var random = new Random(3376);
        byte[] bytes = [.. V3SourceQuery];
        Assert.True(IgmpV3Query.TryCreate(bytes, out IgmpV3Query query));
        for (int i = 0; i < 2000; i++)
        {
            switch (random.Next(6))
            {
                case 0: query.SetMaxResponseCodeUpdatingChecksum((byte)random.Next(256)); break;
                case 1: query.SetGroupAddressUpdatingChecksum(Ipv4Address.FromUInt32((uint)random.NextInt64(1L << 32))); break;
                case 2: query.SetReservedUpdatingChecksum((byte)random.Next(16)); break;
                case 3: query.SetSuppressRouterProcessingUpdatingChecksum(random.Next(2) == 1); break;
                case 4: query.SetQuerierRobustnessUpdatingChecksum((byte)random.Next(8)); break;
                default: query.SetQuerierQueryIntervalCodeUpdatingChecksum((byte)random.Next(256)); break;
            }
            Assert.Equal(query.ComputeChecksum(), query.Checksum);
        }
        Assert.Equal(2, query.NumberOfSources);
    }

    [Fact]
    public void V3_query_is_at_least_12_bytes_so_a_v2_query_is_truncated()
    {
        Assert.False(IgmpV3Query.TryCreate([.. V2GeneralQuery], out _, out WireError error));
        Assert.Equal(WireError.Truncated, error);
        for (int length = 0; length < IgmpV3Query.FixedLength; length++)
        {
            Assert.False(IgmpV3Query.Repr.TryParse(V3GeneralQuery.AsSpan(0, length), out _, out error));
            Assert.Equal(WireError.Truncated, error);
        }
    }

    // ---- IGMPv3 report and group records ----

    [Fact]
    public void V3_report_deconstruct_walks_the_record_of_a_join()
    {
        byte[] bytes = [.. V3JoinReport];
        Assert.True(IgmpV3Report.TryCreate(bytes, out IgmpV3Report report, out WireError error));

        Assert.Equal(WireError.None, error);
        Assert.Equal(IgmpType.MembershipReportV3, report.Type);
        Assert.Equal(0, report.Reserved1);
        Assert.Equal(0xf902, report.Checksum);
        Assert.Equal(0, report.Reserved2);
        Assert.Equal(1, report.NumberOfGroupRecords);
        Assert.Equal(8, report.HeaderLength);
        Assert.Equal(16, report.PacketLength);
        Assert.True(report.VerifyChecksum());

        WireRecordEnumerator<IgmpV3GroupRecord> records = report.EnumerateRecords();
        Assert.True(records.MoveNext());
        IgmpV3GroupRecord record = records.Current;
        Assert.Equal(4, record.RecordType); // CHANGE_TO_EXCLUDE_MODE
        Assert.Equal(0, record.AuxiliaryDataLength);
        Assert.Equal(0, record.NumberOfSources);
        Assert.Equal(new Ipv4Address(224, 0, 0, 251), record.MulticastAddress);
        Assert.Equal(8, record.HeaderLength);
        Assert.False(records.MoveNext());
        Assert.False(records.IsMalformed);
    }

    [Fact]
    public void V3_report_deconstruct_walks_records_with_sources_and_auxiliary_data()
    {
        byte[] bytes = [.. V3TwoRecordReport];
        Assert.True(IgmpV3Report.TryCreate(bytes, out IgmpV3Report report));
        Assert.Equal(2, report.NumberOfGroupRecords);
        Assert.True(report.VerifyChecksum());

        WireRecordEnumerator<IgmpV3GroupRecord> records = report.EnumerateRecords();
        Assert.True(records.MoveNext());
        IgmpV3GroupRecord first = records.Current;
        Assert.Equal(5, first.RecordType); // ALLOW_NEW_SOURCES
        Assert.Equal(1, first.AuxiliaryDataLength);
        Assert.Equal(2, first.NumberOfSources);
        Assert.Equal(new Ipv4Address(232, 1, 1, 1), first.MulticastAddress);
        Assert.Equal(20, first.HeaderLength); // 8 + 2 sources * 4 + 1 aux word * 4
        Assert.Equal(V3TwoRecordReport[16..28], first.Variable.ToArray());
        Assert.Equal(new Ipv4Address(192, 0, 2, 11), new Ipv4Address(first.Variable[4..]));

        Assert.True(records.MoveNext());
        IgmpV3GroupRecord second = records.Current;
        Assert.Equal(6, second.RecordType); // BLOCK_OLD_SOURCES
        Assert.Equal(0, second.AuxiliaryDataLength);
        Assert.Equal(1, second.NumberOfSources);
        Assert.Equal(new Ipv4Address(232, 1, 1, 2), second.MulticastAddress);
        Assert.Equal(12, second.HeaderLength);
        Assert.Equal(new Ipv4Address(192, 0, 2, 12), new Ipv4Address(second.Variable));

        Assert.False(records.MoveNext());
        Assert.False(records.IsMalformed);
    }

    [Fact]
    public void V3_report_walk_is_malformed_when_the_count_promises_more_records_than_fit()
    {
        byte[] bytes = [.. V3TwoRecordReport];
        bytes[7] = 3;
        Assert.True(IgmpV3Report.TryCreate(bytes, out IgmpV3Report report));
        int count = 0;
        WireRecordEnumerator<IgmpV3GroupRecord> records = report.EnumerateRecords();
        while (records.MoveNext())
            count++;
        Assert.Equal(2, count);
        Assert.True(records.IsMalformed);
    }

    [Fact]
    public void V3_report_walk_is_malformed_when_a_record_claims_sources_past_the_end()
    {
        byte[] bytes = [.. V3TwoRecordReport];
        bytes[31] = 2; // the second record claims two sources, one is present
        Assert.True(IgmpV3Report.TryCreate(bytes, out IgmpV3Report report));
        WireRecordEnumerator<IgmpV3GroupRecord> records = report.EnumerateRecords();
        Assert.True(records.MoveNext());
        Assert.False(records.MoveNext());
        Assert.True(records.IsMalformed);
    }

    [Fact]
    public void V3_report_construct_through_the_setters_gives_the_bytes()
    {
        byte[] bytes = new byte[V3TwoRecordReport.Length];
        Assert.True(IgmpV3Report.TryCreate(bytes, out IgmpV3Report report));
        report.Type = IgmpType.MembershipReportV3;
        report.Reserved1 = 0;
        report.Reserved2 = 0;
        report.NumberOfGroupRecords = 2;

        Span<byte> rest = report.Payload;
        rest[3] = 2; // source count, then auxiliary length, so that the view covers them
        rest[1] = 1;
        Assert.True(IgmpV3GroupRecord.TryCreate(rest, out IgmpV3GroupRecord first));
        first.RecordType = 5;
        first.AuxiliaryDataLength = 1;
        first.NumberOfSources = 2;
        first.MulticastAddress = new Ipv4Address(232, 1, 1, 1);
        new Ipv4Address(192, 0, 2, 10).CopyTo(first.Variable);
        new Ipv4Address(192, 0, 2, 11).CopyTo(first.Variable[4..]);
        byte[] aux = [0xde, 0xad, 0xbe, 0xef];
        aux.CopyTo(first.Variable[8..]);

        rest = rest[first.HeaderLength..];
        rest[3] = 1;
        Assert.True(IgmpV3GroupRecord.TryCreate(rest, out IgmpV3GroupRecord second));
        second.RecordType = 6;
        second.MulticastAddress = new Ipv4Address(232, 1, 1, 2);
        new Ipv4Address(192, 0, 2, 12).CopyTo(second.Variable);

        report.FillChecksum();
        Assert.Equal(V3TwoRecordReport, bytes);
    }

    [Fact]
    public void V3_report_and_record_parse_and_emit_agree_with_the_bytes()
    {
        var reportRepr = new IgmpV3Report.Repr { Type = IgmpType.MembershipReportV3, NumberOfGroupRecords = 2 };
        var firstRepr = new IgmpV3GroupRecord.Repr { RecordType = 5, AuxiliaryDataLength = 1, NumberOfSources = 2, MulticastAddress = new Ipv4Address(232, 1, 1, 1) };
        var secondRepr = new IgmpV3GroupRecord.Repr { RecordType = 6, NumberOfSources = 1, MulticastAddress = new Ipv4Address(232, 1, 1, 2) };

        Assert.True(IgmpV3Report.Repr.TryParse(V3TwoRecordReport, out IgmpV3Report.Repr report, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(reportRepr, report);
        Assert.True(IgmpV3GroupRecord.Repr.TryParse(V3TwoRecordReport.AsSpan(8), out IgmpV3GroupRecord.Repr first));
        Assert.Equal(firstRepr, first);
        Assert.True(IgmpV3GroupRecord.Repr.TryParse(V3TwoRecordReport.AsSpan(28), out IgmpV3GroupRecord.Repr second));
        Assert.Equal(secondRepr, second);

        byte[] bytes = new byte[V3TwoRecordReport.Length];
        V3TwoRecordReport.AsSpan(16, 12).CopyTo(bytes.AsSpan(16));
        V3TwoRecordReport.AsSpan(36, 4).CopyTo(bytes.AsSpan(36));
        Assert.Equal(8, reportRepr.Emit(bytes));
        Assert.Equal(8, firstRepr.Emit(bytes.AsSpan(8)));
        Assert.Equal(8, secondRepr.Emit(bytes.AsSpan(28)));
        Assert.True(IgmpV3Report.TryCreate(bytes, out IgmpV3Report view));
        view.FillChecksum();
        Assert.Equal(V3TwoRecordReport, bytes);
    }

    [Fact]
    public void V3_report_parse_refuses_another_type_and_a_bad_checksum()
    {
        byte[] bytes = [.. V3JoinReport];
        Assert.True(IgmpV3Report.TryCreate(bytes, out IgmpV3Report report));
        report.Type = IgmpType.MembershipReportV2;
        report.FillChecksum();
        Assert.False(IgmpV3Report.Repr.TryParse(bytes, out _, out WireError error));
        Assert.Equal(WireError.UnexpectedValue, error);

        bytes = [.. V3JoinReport];
        bytes[15] = 0xfc; // the record's group, covered by the checksum of the whole message
        Assert.False(IgmpV3Report.Repr.TryParse(bytes, out _, out error));
        Assert.Equal(WireError.BadChecksum, error);
    }

    [Fact]
    public void V3_report_incremental_setters_give_the_checksum_of_a_full_recompute()
    {
        var random = new Random(3810);
        byte[] bytes = [.. V3TwoRecordReport];
        Assert.True(IgmpV3Report.TryCreate(bytes, out IgmpV3Report report));
        for (int i = 0; i < 2000; i++)
        {
            switch (random.Next(3))
            {
                case 0: report.SetReserved1UpdatingChecksum((byte)random.Next(256)); break;
                case 1: report.SetReserved2UpdatingChecksum((ushort)random.Next(65536)); break;
                default: report.SetNumberOfGroupRecordsUpdatingChecksum((ushort)random.Next(65536)); break;
            }
            Assert.Equal(report.ComputeChecksum(), report.Checksum);
        }
    }

    [Fact]
    public void Group_record_refuses_sources_or_auxiliary_data_past_the_buffer()
    {
        byte[] record = [.. V3TwoRecordReport[8..28]];
        Assert.True(IgmpV3GroupRecord.TryCreate(record, out _));

        Assert.False(IgmpV3GroupRecord.TryCreate(record.AsSpan(0, 19).ToArray(), out _, out WireError error));
        Assert.Equal(WireError.BadHeaderLength, error);

        record[1] = 2; // two words of auxiliary data: 24 bytes
        Assert.False(IgmpV3GroupRecord.TryCreate(record, out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);
        Assert.False(IgmpV3GroupRecord.Repr.TryParse(record, out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);

        record[1] = 1;
        record[3] = 3; // three sources: 24 bytes
        Assert.False(IgmpV3GroupRecord.TryCreate(record, out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);
    }

    [Fact]
    public void TryCreate_refuses_every_buffer_shorter_than_the_fixed_part()
    {
        for (int length = 0; length < 8; length++)
        {
            byte[] bytes = V3TwoRecordReport.AsSpan(0, length).ToArray();
            WireError error;
            Assert.False(IgmpV2Message.TryCreate(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(IgmpV2Message.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(IgmpV3Report.TryCreate(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(IgmpV3Report.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(IgmpV3GroupRecord.TryCreate(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(IgmpV3GroupRecord.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
        }
    }
}
