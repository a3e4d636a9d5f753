using Dataplane.Control;
using Dataplane.Stack.Apps.Iperf3;

namespace Dataplane.Tests.Control;

/// <summary>How long <c>ctl iperf3</c> waits, phase by phase (<see cref="Iperf3Command"/>).</summary>
public class Iperf3CommandTests
{
    private static Iperf3ClientOptions Options(params string[] args) =>
        Iperf3ClientOptions.Parse(["-c", "10.0.0.1", .. args], out string? error) ?? throw new ArgumentException(error);

    /// <summary>
    /// Connecting may take as long as TCP tries, 127 s (the SYN and 6 retransmissions, 1 s doubling),
    /// whatever -t says: the wait no longer ends at -t plus the margin while the worker still
    /// connects (a host that does not answer got "interrupt - the client has terminated" after 17 s
    /// of -t 2, where iperf3 says "Connection timed out"); --connect-timeout sets it instead.
    /// </summary>
    [Fact]
    public void Connecting_may_take_as_long_as_tcp_tries_or_the_connect_timeout()
    {
        Assert.Equal(TimeSpan.FromSeconds(127), Iperf3Command.ConnectGiveUp);
        Assert.Equal(Iperf3Command.ConnectGiveUp, Iperf3Command.ConnectLimit(Options("-t", "2")));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), Iperf3Command.ConnectLimit(Options("-t", "2", "--connect-timeout", "1500")));
        Assert.True(Iperf3Command.Limit(Options("-t", "2")) > Iperf3Command.ConnectGiveUp + TimeSpan.FromSeconds(2) + Iperf3Command.Margin,
            "the whole wait (the ctl client's too) must cover connecting, then the test and its margin");
    }

    /// <summary>Once connected, a timed test may take -t and -O and the margin; one ended by -n or -k, the fixed bound.</summary>
    [Fact]
    public void Once_connected_a_test_may_take_its_time_and_the_margin()
    {
        Assert.Equal(TimeSpan.FromSeconds(2 + 1) + Iperf3Command.Margin, Iperf3Command.RunLimit(Options("-t", "2", "-O", "1").Parameters));
        Assert.Equal(Iperf3Command.UnboundedLimit, Iperf3Command.RunLimit(Options("-n", "1M").Parameters));
    }
}
