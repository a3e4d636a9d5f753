using System.Globalization;
using System.Security.Cryptography;

namespace Dataplane.Tests.Stack.Lab;

/// <summary>
/// TCP forwarded through the dataplane between Linux hosts whose offloads are left as users have
/// them (TSO, GSO and GRO on: nothing switched off with ethtool), so the left host's stack hands
/// the dataplane super-frames: through a tap with TUN_F_TSO4/6, through an afpacket port as the
/// veth passes its peer's TSO frames on. socat sends 32 MiB from the left host to the right one and
/// the SHA-256 of what arrived must be that of what was sent. Where the dataplane cuts the
/// super-frames itself (an afpacket egress, or a tap with <c>set tso off</c>) tcpdump on the right
/// host finds no frame above the 1,500-byte MTU; a tap with TSO takes them whole (the kernel
/// delivers a GSO frame to its own stack unsegmented, as it does between two namespaces). The
/// example config's lab (a tap left, afpacket right) runs both ways.
/// </summary>
[Collection(StackLab.Collection)]
[Trait("Category", "Linux")]
public class SuperFrameLabTests
{
    private const int Port = 5599;
    private const int Length = 32 << 20;

    [SkippableTheory]
    [InlineData(LabDriver.Tap, LabFamily.Ipv4, true)]
    [InlineData(LabDriver.Tap, LabFamily.Ipv6, true)]
    [InlineData(LabDriver.Tap, LabFamily.Ipv4, false)]
    [InlineData(LabDriver.Tap, LabFamily.Ipv6, false)]
    [InlineData(LabDriver.AfPacket, LabFamily.Ipv4, true)]
    [InlineData(LabDriver.AfPacket, LabFamily.Ipv6, true)]
    [InlineData(LabDriver.AfPacket, LabFamily.Ipv4, false)]
    [InlineData(LabDriver.TapLeftAfPacketRight, LabFamily.Ipv4, true)]
    [InlineData(LabDriver.TapLeftAfPacketRight, LabFamily.Ipv6, true)]
    [InlineData(LabDriver.TapLeftAfPacketRight, LabFamily.Ipv4, true, true)]
    [InlineData(LabDriver.TapLeftAfPacketRight, LabFamily.Ipv6, true, true)]
    public void A_tcp_stream_from_a_host_with_default_offloads_is_forwarded_byte_for_byte_and_no_cut_frame_passes_the_mtu(LabDriver driver, LabFamily family, bool tso, bool fromRight = false)
    {
        using StackLab lab = StackLab.Start(driver, tso ? "" : "set tso off", hostOffloads: true);
        string sent = lab.Files.File("sent"), received = lab.Files.File("received"), pcap = lab.Files.File("receiver.pcap");
        File.WriteAllBytes(sent, RandomNumberGenerator.GetBytes(Length));
        // The example config's lab (tap left, afpacket right) both ways: from the right, GRO'd
        // frames from afpacket leave whole by the tap; from the left, the tap's are cut for afpacket.
        string sender = fromRight ? lab.Right : lab.Left, receiver = fromRight ? lab.Left : lab.Right;
        string receiverLink = fromRight ? lab.LeftLink : lab.RightLink;
        bool cutHere = !tso; // with tso, both a tap and an afpacket port take super-frames whole (the kernel cuts them)
        // What reaches the receiving host from the dataplane (-Q in), headers only, with a large buffer.
        LabProcess dump = lab.Files.StartIn(receiver, "tcpdump", "-i", receiverLink, "-Q", "in", "-n", "-U", "-B", "65536", "-Z", "root", "-s", "128", "-w", pcap, $"tcp port {Port}");
        dump.WaitForOutput("listening on", TimeSpan.FromSeconds(30));
        string listen = family == LabFamily.Ipv4 ? $"TCP4-LISTEN:{Port},reuseaddr" : $"TCP6-LISTEN:{Port},reuseaddr";
        LabProcess server = lab.Files.StartIn(receiver, "socat", "-u", listen, $"CREATE:{received}");
        Assert.True(LinuxLab.Until(() => LinuxLab.RunIn(receiver, "ss", "-Hltn", $"sport = :{Port}").Contains(':' + Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal), TimeSpan.FromSeconds(30)), "socat did not listen");
        Dictionary<string, long> before = lab.Counters();
        long checksumErrors = TcpInCsumErrors(receiver);
        string host = fromRight ? StackLab.Address(family, StackLab.LeftHost, StackLab.LeftHost6) : StackLab.Address(family, StackLab.RightHost, StackLab.RightHost6);
        string peer = family == LabFamily.Ipv4 ? $"TCP4:{host}:{Port}" : $"TCP6:[{host}]:{Port}";

        (int exit, string output) = LinuxLab.Execute("ip", "netns", "exec", sender, "timeout", "120", "socat", "-u", $"OPEN:{sent}", peer);

        Assert.True(server.WaitForExit(TimeSpan.FromSeconds(60)) == 0, $"the receiving socat: {server.AllOutput}");
        Dictionary<string, long> after = lab.Counters();
        string moved = StackLab.Moved(before, after);
        Assert.True(exit == 0, $"socat exit {exit}: {output}; counters moved: {moved}");
        Assert.Equal(Length, new FileInfo(received).Length);
        Assert.True(Sha256(sent) == Sha256(received), $"what arrived differs from what was sent; counters moved: {moved}");
        // The hosts sent super-frames and the dataplane took them: none refused as a lie, none lost to a dry pool.
        Assert.True(after["offload.received"] - before["offload.received"] > 0, $"no super-frame came in; counters moved: {moved}");
        foreach (string key in new[] { "offload.bad_segment_size", "offload.type_mismatch", "offload.bad_headers", "offload.bad_checksum_offset", "offload.bad_checksum", "offload.no_buffer" })
            Assert.True(after[key] == before[key], $"{key} moved; counters moved: {moved}");
        Assert.Equal("", StackLab.DropsMoved(before, after));
        Assert.Equal(checksumErrors, TcpInCsumErrors(receiver)); // the receiving host found no bad TCP checksum
        dump.Stop();
        if (cutHere)
        {
            int[] sizes = [.. LinuxLab.Run("tshark", "-r", pcap, "-n", "-T", "fields", "-e", "frame.len")
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
            Assert.True(sizes.Length > Length / 1500 / 2, $"tcpdump saw {sizes.Length} frames"); // it may miss some on a loaded machine
            Assert.True(sizes.Max() <= 1514, $"a {sizes.Max()}-byte frame left the dataplane on a 1,500-byte link");
            Assert.True(after["offload.segments_created"] - before["offload.segments_created"] > 0, moved);
        }
        else
        {
            Assert.True(after["offload.sent_whole"] - before["offload.sent_whole"] > 0, $"no super-frame left whole; counters moved: {moved}");
        }
        lab.AssertAlive();
    }

    /// <summary>TCP's InCsumErrors in <paramref name="ns"/> (/proc/net/snmp, both families).</summary>
    private static long TcpInCsumErrors(string ns)
    {
        string[] tcp = [.. LinuxLab.RunIn(ns, "cat", "/proc/net/snmp").Split('\n').Where(l => l.StartsWith("Tcp:", StringComparison.Ordinal))];
        return long.Parse(tcp[1].Split(' ')[Array.IndexOf(tcp[0].Split(' '), "InCsumErrors")], CultureInfo.InvariantCulture);
    }

    private static string Sha256(string file)
    {
        using FileStream stream = File.OpenRead(file);
        return Convert.ToHexString(SHA256.HashData(stream));
    }
}
