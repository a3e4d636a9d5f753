using Dataplane.Stack.Apps.Iperf3;

namespace Dataplane.Tests.Apps.Iperf3;

/// <summary>The client's command line, with iperf3's defaults, checks and messages.</summary>
public class Iperf3ClientOptionsTests
{
    private static Iperf3ClientOptions Ok(params string[] args)
    {
        Iperf3ClientOptions? o = Iperf3ClientOptions.Parse(args, out string? error);
        Assert.True(o is not null, error);
        return o!;
    }

    private static string Bad(params string[] args)
    {
        Assert.Null(Iperf3ClientOptions.Parse(args, out string? error));
        return error!;
    }

    [Fact]
    public void All_the_usual_client_options_land_in_the_parameters()
    {
        Iperf3ClientOptions o = Ok("-c", "10.0.0.2", "-p", "5300", "-t", "5", "-P", "4", "-R", "-l", "64K", "-w", "1M", "-J", "-M", "1400", "-N", "-O", "2", "--cport", "6000", "-f", "m");
        Iperf3Parameters p = o.Parameters;
        Assert.Equal(("10.0.0.2", 5300, 6000, true, 'm'), (o.Host, o.Port, o.ClientPort, o.Json, o.UnitFormat));
        Assert.Equal((5, 4, true, 65536, 1 << 20, 1400, true, 2), (p.Duration, p.Parallel, p.Reverse, p.Length, p.Window, p.Mss, p.NoDelay, p.Omit));
    }

    [Fact]
    public void Getopt_forms_are_accepted()
    {
        Iperf3ClientOptions o = Ok("--client=h", "-t1", "--parallel", "2", "-uR", "--bitrate=10M/5");
        Assert.Equal((1, 2, Iperf3Protocol.Udp, true, 10_000_000L, 5), (o.Parameters.Duration, o.Parameters.Parallel, o.Parameters.Protocol, o.Parameters.Reverse, o.Parameters.Bandwidth, o.Parameters.Burst));
    }

    [Fact]
    public void Bytes_and_blocks_are_2_based_rates_10_based_and_end_the_timed_test()
    {
        Iperf3Parameters p = Ok("-c", "h", "-n", "1M").Parameters;
        Assert.Equal((1L << 20, 0), (p.Bytes, p.Duration));
        Assert.Equal(0, Ok("-c", "h", "-k", "100").Parameters.Duration);
        Assert.Equal(1_000_000, Ok("-c", "h", "-u", "-b", "1M").Parameters.Bandwidth);
    }

    [Fact]
    public void Udp_defaults_to_iperf3s_1_mbit_and_a_length_from_the_mss()
    {
        Iperf3Parameters p = Ok("-c", "h", "-u").Parameters;
        Assert.Equal((1024L * 1024, 0), (p.Bandwidth, p.Length));
        Assert.Equal(0, Ok("-c", "h").Parameters.Bandwidth);
    }

    /// <summary>
    /// iperf_parse_arguments (3.12): --connect-timeout in milliseconds (none by default: as long as
    /// TCP tries); --rcv-timeout in milliseconds, 100 at least, default 120000 in a receiving test
    /// (-R, --bidir) and not watched when the client only sends, where giving it is an error.
    /// </summary>
    [Fact]
    public void Connect_and_receive_timeouts_are_read_as_iperf3_reads_them()
    {
        Assert.Null(Ok("-c", "h").ConnectTimeoutMilliseconds);
        Assert.Equal(1500, Ok("-c", "h", "--connect-timeout", "1500").ConnectTimeoutMilliseconds);
        Assert.Equal(1500, Ok("-c", "h", "--connect-timeout=1500").ConnectTimeoutMilliseconds);
        Assert.Null(Ok("-c", "h").ReceiveTimeoutMilliseconds);
        Assert.Equal(120_000, Ok("-c", "h", "-R").ReceiveTimeoutMilliseconds);
        Assert.Equal(120_000, Ok("-c", "h", "--bidir").ReceiveTimeoutMilliseconds);
        Assert.Equal(2000, Ok("-c", "h", "-R", "--rcv-timeout", "2000").ReceiveTimeoutMilliseconds);
        Assert.Equal("client receive timeout is valid only in receiving mode", Bad("-c", "h", "--rcv-timeout", "2000"));
        Assert.Equal("receive timeout value is incorrect or not in range", Bad("-c", "h", "-R", "--rcv-timeout", "99"));
        Assert.Equal("receive timeout value is incorrect or not in range", Bad("-c", "h", "-R", "--rcv-timeout", "x"));
        Assert.StartsWith("bad value for --connect-timeout", Bad("-c", "h", "--connect-timeout", "-5"), StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_options_get_iperf3s_messages()
    {
        Assert.Equal("only one test end condition (-t, -n, -k) may be specified", Bad("-c", "h", "-t", "1", "-n", "1M"));
        Assert.Equal("cannot be both reverse and bidirectional", Bad("-c", "h", "-R", "--bidir"));
        Assert.Equal("port number must be between 1 and 65535 inclusive", Bad("-c", "h", "-p", "70000"));
        Assert.Equal("number of parallel streams too large (maximum = 128)", Bad("-c", "h", "-P", "129"));
        Assert.Equal("must either be a client (-c) or server (-s)", Bad("-t", "1"));
        Assert.Equal("some option you are trying to set is server only", Bad("-c", "h", "-1"));
        Assert.Equal("cannot be both server and client", Bad("-c", "h", "-s"));
        Assert.Equal("block size invalid (minimum = 16 bytes, maximum = 65507 bytes)", Bad("-c", "h", "-u", "-l", "8"));
        Assert.Equal("block size too large (maximum = 1048576 bytes)", Bad("-c", "h", "-l", "2M"));
        Assert.Equal("bogus value for --omit", Bad("-c", "h", "-O", "61"));
        Assert.StartsWith("bad value for -t", Bad("-c", "h", "-t", "x"), StringComparison.Ordinal);
        Assert.Equal("unrecognized option '--frobnicate'", Bad("-c", "h", "--frobnicate"));
        Assert.Equal("invalid option -- 'q'", Bad("-c", "h", "-q"));
        Assert.Equal("option requires an argument -- 't'", Bad("-c", "h", "-t"));
    }
}
