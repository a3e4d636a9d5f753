
namespace Dataplane.Tests.Stack.Lab;

/// <summary>The built-in UDP echo (<c>app echo udp listen ...</c>) against socat on the left host, IPv4 and IPv6, over both drivers.</summary>
[Collection(StackLab.Collection)]
[Trait("Category", "Linux")]
public class UdpEchoLabTests
{
    private const string Apps = $"app echo udp listen {StackLab.DataplaneLeft}:7\napp echo udp listen [{StackLab.DataplaneLeft6}]:7";

    [SkippableTheory]
    [InlineData(LabDriver.Tap, LabFamily.Ipv4)]
    [InlineData(LabDriver.Tap, LabFamily.Ipv6)]
    [InlineData(LabDriver.AfPacket, LabFamily.Ipv4)]
    [InlineData(LabDriver.AfPacket, LabFamily.Ipv6)]
    [InlineData(LabDriver.AfXdp, LabFamily.Ipv4)]
    [InlineData(LabDriver.AfXdp, LabFamily.Ipv6)]
    public void Socat_gets_back_each_datagram_it_sends_to_the_echo_app(LabDriver driver, LabFamily family)
    {
        using StackLab lab = StackLab.Start(driver, Apps);
        Dictionary<string, long> before = lab.Counters();
        string peer = family == LabFamily.Ipv4 ? $"UDP4:{StackLab.DataplaneLeft}:7" : $"UDP6:[{StackLab.DataplaneLeft6}]:7";

        // Three datagrams from one socket, each written once the one before has come back (so
        // three reads of socat's, three datagrams); waiting for each is bounded for a loaded machine.
        LabProcess socat = lab.StartWithInputInLeft("socat", "-", peer);
        foreach (string line in new[] { "one", "two", "three" })
        {
            socat.Input.WriteLine(line);
            socat.WaitForOutput(line + "\n", TimeSpan.FromSeconds(30));
        }
        socat.Stop();

        Assert.True(socat.Error == "", $"socat: {socat.Error}; counters moved: {StackLab.Moved(before, lab.Counters())}");
        Assert.Equal("one\ntwo\nthree\n", socat.Output);
        Dictionary<string, long> after = lab.Counters();
        Assert.Equal(3, after["udp.delivered"] - before["udp.delivered"]);
        Assert.Equal(3, after["udp.sent"] - before["udp.sent"]);
        Assert.Equal(0, after["udp.no_port"] - before["udp.no_port"]);
        lab.AssertAlive();
    }
}
