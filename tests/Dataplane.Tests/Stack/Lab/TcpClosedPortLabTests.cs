namespace Dataplane.Tests.Stack.Lab;

/// <summary>
/// A Linux host connecting to a TCP port of the dataplane where nothing listens is refused at once,
/// by the reset of RFC 9293 3.10.7.1, IPv4 and IPv6, over both drivers. (An ICMP protocol
/// unreachable or parameter problem, which the stack sent before TCP input, reaches a Linux client
/// as ENOPROTOOPT or EPROTO, not as a refusal.)
/// </summary>
[Collection(StackLab.Collection)]
[Trait("Category", "Linux")]
public class TcpClosedPortLabTests
{
    // Connects once with a 10 s bound and says how it ended: refused, a timeout, or another error.
    private const string Connect = """
        import socket, sys
        try:
            socket.create_connection((sys.argv[1], 80), timeout=10)
            print("connected")
        except ConnectionRefusedError:
            print("refused")
        except Exception as e:
            print(type(e).__name__, e)
        """;

    [SkippableTheory]
    [InlineData(LabDriver.Tap, LabFamily.Ipv4)]
    [InlineData(LabDriver.Tap, LabFamily.Ipv6)]
    [InlineData(LabDriver.AfPacket, LabFamily.Ipv4)]
    [InlineData(LabDriver.AfPacket, LabFamily.Ipv6)]
    [InlineData(LabDriver.AfXdp, LabFamily.Ipv4)]
    [InlineData(LabDriver.AfXdp, LabFamily.Ipv6)]
    public void A_linux_client_is_refused_by_a_reset_from_a_port_nobody_listens_on(LabDriver driver, LabFamily family)
    {
        using StackLab lab = StackLab.Start(driver);
        Dictionary<string, long> before = lab.Counters();

        (int exit, string output) = lab.TryInLeft("python3", "-c", Connect, StackLab.Address(family, StackLab.DataplaneLeft, StackLab.DataplaneLeft6));

        Dictionary<string, long> after = lab.Counters();
        Assert.True(exit == 0 && output.Trim() == "refused", $"python3 exit {exit}: {output}; counters moved: {StackLab.Moved(before, after)}");
        Assert.Equal(1, after["tcp.no_port"] - before["tcp.no_port"]);
        Assert.Equal(1, after["tcp.resets_sent"] - before["tcp.resets_sent"]);
        Assert.Equal(0, after["tcp.bad_checksum"] - before["tcp.bad_checksum"]);
        string protocol = family == LabFamily.Ipv4 ? "ip" : "ip6";
        Assert.Equal(0, after[$"{protocol}.no_protocol"] - before[$"{protocol}.no_protocol"]);
        lab.AssertAlive();
    }
}
