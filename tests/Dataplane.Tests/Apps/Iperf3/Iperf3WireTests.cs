using System.Text;
using Dataplane.Stack.Apps.Iperf3;

namespace Dataplane.Tests.Apps.Iperf3;

/// <summary>The JSON messages, the cookie, the UDP header and the number formatting, over literal bytes.</summary>
public class Iperf3WireTests
{
    private static string Text(byte[] b) => Encoding.UTF8.GetString(b);

    [Fact]
    public void Default_tcp_parameters_are_emitted_as_iperf3_3_12_sends_them()
    {
        Iperf3ClientOptions o = Iperf3ClientOptions.Parse(["-c", "h"], out _)!;
        Assert.Equal("""{"tcp":true,"omit":0,"time":10,"num":0,"blockcount":0,"parallel":1,"len":131072,"pacing_timer":1000,"client_version":"3.12"}""",
            Text(o.Parameters.ToJsonBytes()));
    }

    [Fact]
    public void Udp_parameters_from_iperf3_3_12_parse_and_emit_back_identically()
    {
        // send_parameters of `iperf3 -c 127.0.0.1 -u -b 10M -t 1` on loopback (captured with -d).
        const string json = """{"udp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":1,"len":32768,"bandwidth":10000000,"pacing_timer":1000,"client_version":"3.12"}""";
        Iperf3Parameters p = Iperf3Parameters.Parse(Encoding.UTF8.GetBytes(json), out string? error)!;
        Assert.Null(error);
        Assert.Equal(Iperf3Protocol.Udp, p.Protocol);
        Assert.Equal(32768, p.Length);
        Assert.Equal(10_000_000, p.Bandwidth);
        Assert.Equal(json, Text(p.ToJsonBytes()));
    }

    [Fact]
    public void Flag_keys_count_by_presence_and_keys_match_case_insensitively_as_in_cjson()
    {
        Iperf3Parameters p = Iperf3Parameters.Parse("""{"TCP":true,"Reverse":false,"PARALLEL":3,"time":2.9,"nodelay":0}"""u8, out _)!;
        Assert.True(p.Reverse);
        Assert.True(p.NoDelay);
        Assert.Equal(3, p.Parallel);
        Assert.Equal(2, p.Duration); // valueint truncates
    }

    [Fact]
    public void Bidir_parameters_round_trip()
    {
        var p = new Iperf3Parameters { Bidirectional = true, Parallel = 4, Mss = 1400, NoDelay = true, Window = 65536, Omit = 2, Title = "t\"x", UdpCounters64Bit = true };
        Iperf3Parameters q = Iperf3Parameters.Parse(p.ToJsonBytes(), out _)!;
        Assert.Equal(Text(p.ToJsonBytes()), Text(q.ToJsonBytes()));
        Assert.Equal(Iperf3Direction.Bidirectional, q.Direction);
    }

    [Fact]
    public void Parameters_that_are_not_an_object_or_not_servable_are_refused()
    {
        Assert.Null(Iperf3Parameters.Parse("[1]"u8, out string? e1));
        Assert.NotNull(e1);
        Assert.Null(Iperf3Parameters.Parse("{\"tcp\":tr"u8, out _));
        Assert.NotNull(Iperf3Parameters.Parse("""{"sctp":true}"""u8, out _)!.Validate());
        Assert.NotNull(Iperf3Parameters.Parse("""{"tcp":true,"parallel":0}"""u8, out _)!.Validate());
        Assert.NotNull(Iperf3Parameters.Parse("""{"udp":true,"len":8}"""u8, out _)!.Validate());
    }

    [Fact]
    public void Results_from_iperf3_3_12_read_its_unsigned_minus_one_as_minus_one()
    {
        // send_results of a 3.12 server receiving UDP: -1 printed by cJSON with PRIu64.
        const string json = """{"cpu_util_total":0.22268398164556266,"cpu_util_user":0.0742613098575642,"cpu_util_system":0.14852261971512842,"sender_has_retransmits":18446744073709551615,"streams":[{"id":1,"bytes":1277952,"retransmits":18446744073709551615,"jitter":2.5698140823621255e-05,"errors":0,"packets":39,"start_time":0,"end_time":1.000502}]}""";
        Iperf3Results r = Iperf3Results.Parse(Encoding.UTF8.GetBytes(json), out string? error)!;
        Assert.Null(error);
        Assert.Equal(-1, r.SenderHasRetransmits);
        Iperf3StreamResult s = Assert.Single(r.Streams);
        Assert.Equal(-1, s.Retransmits);
        Assert.Equal(1277952, s.Bytes);
        Assert.Equal(39, s.Packets);
        Assert.Equal(2.5698140823621255e-05, s.Jitter);
        Assert.Equal(1.000502, s.EndTime);
    }

    [Fact]
    public void Results_round_trip_and_emit_in_send_results_key_order()
    {
        var r = new Iperf3Results { CpuUtilTotal = 1.5, SenderHasRetransmits = 1, CongestionUsed = "cubic" };
        r.Streams.Add(new Iperf3StreamResult { Id = 3, Bytes = 5_000_000_000, Retransmits = 7, EndTime = 1.25 });
        Assert.Equal("""{"cpu_util_total":1.5,"cpu_util_user":0,"cpu_util_system":0,"sender_has_retransmits":1,"congestion_used":"cubic","streams":[{"id":3,"bytes":5000000000,"retransmits":7,"jitter":0,"errors":0,"packets":0,"start_time":0,"end_time":1.25}]}""",
            Text(r.ToJsonBytes()));
        Iperf3Results q = Iperf3Results.Parse(r.ToJsonBytes(), out _)!;
        Assert.Equal(r.Streams[0], q.Streams[0]);
        Assert.Equal("cubic", q.CongestionUsed);
    }

    [Fact]
    public void Results_missing_a_required_key_are_refused_as_get_results_does()
    {
        Assert.Null(Iperf3Results.Parse("""{"cpu_util_total":0,"cpu_util_user":0,"cpu_util_system":0,"streams":[]}"""u8, out _));
        Assert.Null(Iperf3Results.Parse("""{"cpu_util_total":0,"cpu_util_user":0,"cpu_util_system":0,"sender_has_retransmits":0,"streams":[{"id":1,"bytes":1}]}"""u8, out _));
    }

    [Fact]
    public void Cookie_is_36_characters_of_a_to_z_2_to_7_and_a_nul()
    {
        byte[] c = Iperf3Cookie.Generate();
        Assert.Equal(37, c.Length);
        Assert.True(Iperf3Cookie.IsWellFormed(c));
        Assert.Matches("^[a-z2-7]{36}$", Iperf3Cookie.ToText(c));
        Assert.False(Iperf3Cookie.IsWellFormed("foilcerokuy2mu6wjkq7awb7s3222ntsa2j1\0"u8)); // '1' is not in the alphabet
        Assert.False(Iperf3Cookie.IsWellFormed("foilcerokuy2mu6wjkq7awb7s3222ntsa2jz"u8)); // no NUL
        Assert.False(Iperf3Cookie.IsWellFormed("foilcerokuy2mu6wjkq7awb7s3222ntsa2jzz"u8));
    }

    [Fact]
    public void Cookies_match_as_strcmp_compares_them()
    {
        byte[] a = "foilcerokuy2mu6wjkq7awb7s3222ntsa2jz\0"u8.ToArray();
        Assert.True(Iperf3Cookie.Matches(a, a));
        Assert.False(Iperf3Cookie.Matches(a, "foilcerokuy2mu6wjkq7awb7s3222ntsa2ja\0"u8));
        Assert.True(Iperf3Cookie.Matches("ab\0xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"u8, "ab\0yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"u8));
        Assert.False(Iperf3Cookie.Matches(a, a.AsSpan(0, 36)));
    }

    [Fact]
    public void Udp_header_is_big_endian_seconds_microseconds_and_count()
    {
        byte[] b = new byte[20];
        Assert.Equal(12, Iperf3Payload.WriteUdpHeader(b, 1_796_579_876_123_456, 5, counters64Bit: false));
        Assert.Equal(new byte[] { 0x6B, 0x15, 0xA2, 0x24, 0x00, 0x01, 0xE2, 0x40, 0, 0, 0, 5 }, b[..12]);
        Assert.Equal(16, Iperf3Payload.WriteUdpHeader(b, 1_000_001, 0x1_0000_0002, counters64Bit: true));
        Assert.Equal(new byte[] { 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2 }, b[..16]);
        Assert.True(Iperf3Payload.TryReadUdpHeader(b, true, out uint s, out uint us, out ulong n));
        Assert.Equal((1u, 1u, 0x1_0000_0002ul), (s, us, n));
        Assert.False(Iperf3Payload.TryReadUdpHeader(b.AsSpan(0, 11), false, out _, out _, out _));
    }

    [Fact]
    public void Udp_connect_bytes_are_9876_and_6789_as_little_endian_iperf3_writes_them()
    {
        Assert.Equal("9876"u8.ToArray(), BitConverter.GetBytes(0x36373839));
        Assert.Equal("6789"u8.ToArray(), BitConverter.GetBytes(0x39383736));
        Assert.True(Iperf3Payload.IsUdpConnectReply(BitConverter.GetBytes(987654321)));
        Assert.False(Iperf3Payload.IsUdpConnectReply("9876"u8));
    }

    [Fact]
    public void Repeating_payload_is_the_digits_over_and_over()
    {
        byte[] b = new byte[23];
        Iperf3Payload.FillRepeating(b);
        Assert.Equal("01234567890123456789012", Encoding.ASCII.GetString(b));
    }

    [Theory]
    [InlineData(1181116006.0, 'A', "1.10 GByte")]
    [InlineData(9.42e9 / 8, 'a', "9.42 Gbit")]
    [InlineData(262144.0, 'A', " 256 KByte")]
    [InlineData(2.58 * 1024 * 1024 * 1024, 'A', "2.58 GByte")]
    [InlineData(22.2e9 / 8, 'a', "22.2 Gbit")]
    [InlineData(1277952.0, 'A', "1.22 MByte")]
    [InlineData(1023.0, 'A', "1023 Byte")]
    [InlineData(10.2e6 / 8, 'a', "10.2 Mbit")]
    [InlineData(1e9 / 8, 'm', "1000 Mbit")]
    [InlineData(0.0, 'a', "0.00 bit")]
    public void Units_print_in_four_places_as_unit_snprintf_does(double number, char format, string expected) =>
        Assert.Equal(expected, Iperf3Format.Unit(number, format));

    [Theory]
    [InlineData(0.125, 2, "0.12")]   // glibc: exact tie, to even (.NET "F2" gives 0.13)
    [InlineData(0.375, 2, "0.38")]
    [InlineData(2.5, 0, "2")]
    [InlineData(1.005, 2, "1.00")]   // 1.005 is 1.00499999999999989...
    [InlineData(1.000085, 2, "1.00")]
    [InlineData(-0.5, 0, "-0")]
    [InlineData(123.456, 3, "123.456")]
    public void Fixed_rounds_as_glibc_printf(double value, int precision, string expected) =>
        Assert.Equal(expected, Iperf3Format.Fixed(value, precision));

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(100.0, "1e+02")]
    [InlineData(1.5, "1.5")]
    [InlineData(12.34, "12")]
    [InlineData(0.001234, "0.0012")]
    [InlineData(0.00001234, "1.2e-05")]
    [InlineData(99.6, "1e+02")]
    public void General_prints_as_glibc_percent_g(double value, string expected) =>
        Assert.Equal(expected, Iperf3Format.General(value, 2));
}
