using Dataplane.Conformance.Cases;

namespace Dataplane.Conformance.Tests.Cases;

public class ParsersTests
{
    [Fact]
    public void Ping_summary_gives_the_replies_bits_per_second_and_loss_and_rtt()
    {
        const string output = """
            PING 10.10.12.4 (10.10.12.4) 56(84) bytes of data.

            --- 10.10.12.4 ping statistics ---
            10000 packets transmitted, 9990 received, 0.1% packet loss, time 2000ms
            rtt min/avg/max/mdev = 0.010/0.015/0.190/0.004 ms, ipg/ewma 0.200/0.014 ms
            """;
        Measurement m = Parsers.Ping(output, ipBytes: 84)!;
        Assert.Equal(9990 * 84 * 8 / 2.0, m.BitsPerSecond, precision: 3);
        Assert.Equal("recv", m.Direction);
        Assert.Equal("0.1% loss, rtt 0.015 ms", m.Note);
    }

    [Fact]
    public void Ping_without_replies_or_summary_gives_no_value()
    {
        Assert.Null(Parsers.Ping("5 packets transmitted, 0 received, 100% packet loss, time 4000ms", 84));
        Assert.Null(Parsers.Ping("ping: connect: Network is unreachable", 84));
    }

    [Fact]
    public void Iperf3_tcp_takes_what_the_receiver_got()
    {
        const string json = """{"start":{},"end":{"sum_sent":{"bits_per_second":2.0e9},"sum_received":{"bits_per_second":1.5e9}}}""";
        Assert.Equal(1.5e9, Parsers.Iperf3(json, udp: false)!.BitsPerSecond);
    }

    [Fact]
    public void Iperf3_udp_without_a_receiver_sum_takes_the_sent_rate_less_the_lost_share()
    {
        const string json = """{"end":{"sum":{"bits_per_second":1000000000,"lost_percent":25}}}""";
        Measurement m = Parsers.Iperf3(json, udp: true)!;
        Assert.Equal(7.5e8, m.BitsPerSecond);
        Assert.Equal("25% lost", m.Note);
    }

    [Fact]
    public void Iperf3_error_report_gives_no_value_but_its_error()
    {
        const string json = """{"start":{},"intervals":[],"end":{},"error":"unable to connect to server: Connection refused"}""";
        Assert.Null(Parsers.Iperf3(json, udp: false));
        Assert.Equal("unable to connect to server: Connection refused", Parsers.Iperf3Error(json));
        Assert.Null(Parsers.Iperf3("not json at all", udp: false));
    }

    [Fact]
    public void Value_line_is_read_as_openbsd_writes_it()
    {
        Measurement m = Parsers.ValueLine("datagrams 10 bytes 14720 seconds 1.0\nVALUE 117760 bits/sec recv\n")!;
        Assert.Equal(117760, m.BitsPerSecond);
        Assert.Equal("recv", m.Direction);
        Assert.Null(Parsers.ValueLine("datagrams 0 bytes 0 seconds 0\n"));
    }
}
