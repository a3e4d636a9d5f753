namespace Dataplane.Tests.Stack.Lab;

/// <summary>
/// The built-in TCP echo (<c>app echo tcp listen ...</c>) against Linux clients in the left host,
/// IPv4 and IPv6, over both drivers: socat sends 64 MiB and gets every byte back in order (the
/// SHA-256 of what came back is that of what was sent), and the connection closes cleanly both
/// ways; Linux's own TCP is the peer, with its defaults.
/// </summary>
[Collection(StackLab.Collection)]
[Trait("Category", "Linux")]
public class TcpEchoLabTests
{
    private const string Apps = $"app echo tcp listen {StackLab.DataplaneLeft}:7\napp echo tcp listen [{StackLab.DataplaneLeft6}]:7";

    [SkippableTheory]
    [InlineData(LabDriver.Tap, LabFamily.Ipv4)]
    [InlineData(LabDriver.Tap, LabFamily.Ipv6)]
    [InlineData(LabDriver.AfPacket, LabFamily.Ipv4)]
    [InlineData(LabDriver.AfPacket, LabFamily.Ipv6)]
    [InlineData(LabDriver.AfXdp, LabFamily.Ipv4)]
    [InlineData(LabDriver.AfXdp, LabFamily.Ipv6)]
    public void Socat_gets_back_64_MiB_it_sends_to_the_echo_app_byte_for_byte(LabDriver driver, LabFamily family)
    {
        using StackLab lab = StackLab.Start(driver, Apps);
        string sent = lab.Files.File("sent"), back = lab.Files.File("back");
        File.WriteAllBytes(sent, RandomBytes(64 << 20));
        Dictionary<string, long> before = lab.Counters();
        string peer = family == LabFamily.Ipv4 ? $"TCP4:{StackLab.DataplaneLeft}:7" : $"TCP6:[{StackLab.DataplaneLeft6}]:7";

        // socat half-closes when its input ends and exits once the echo's FIN arrives (-t 60
        // bounds that wait); the whole run is bounded by timeout(1).
        (int exit, string output) = lab.TryInLeft("timeout", "120", "bash", "-c", $"socat -t 60 {peer} STDIO < {sent} > {back}");

        Dictionary<string, long> after = lab.Counters();
        string moved = StackLab.Moved(before, after);
        Assert.True(exit == 0, $"socat exit {exit}: {output}; counters moved: {moved}");
        Assert.Equal(new FileInfo(sent).Length, new FileInfo(back).Length);
        Assert.True(Sha256(sent) == Sha256(back), $"what came back differs from what was sent; counters moved: {moved}");
        Assert.Equal(1, after["tcp.accepts"] - before["tcp.accepts"]);
        Assert.Equal(0, after["tcp.bad_checksum"] - before["tcp.bad_checksum"]);
        Assert.Equal(0, after["tcp.resets_sent"] - before["tcp.resets_sent"]);
        lab.AssertAlive();
    }

    private static byte[] RandomBytes(int length)
    {
        byte[] bytes = new byte[length];
        new Random(7).NextBytes(bytes);
        return bytes;
    }

    private static string Sha256(string file)
    {
        using FileStream stream = File.OpenRead(file);
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(stream));
    }
}
