using System.Text.RegularExpressions;
using Dataplane.Labs.Guest;
using Xunit.Abstractions;

namespace Dataplane.Tests.Guest;

/// <summary>
/// The dataplane in the QEMU guest drives a vmxnet3 through VFIO (issue 16): QEMU's vmxnet3 at
/// 0000:00:04.0 on vfio-pci, its tap in a host namespace, and a Linux peer there pinging the
/// dataplane's addresses over IPv4 and IPv6 and sending it UDP and TCP to echo. After SIGTERM the device
/// goes back to the vmxnet3 kernel driver. Then iperf3 forwarded between two vmxnet3s with two
/// queues each, LRO on (the default): the taps' super-frames arrive over head and body buffers and
/// are forwarded as super-frames. One boot a test, in the CPU-heavy collection.
/// </summary>
[Collection(CpuHeavyCollection.Name)]
public sealed class Vmxnet3GuestTests(ITestOutputHelper output)
{
    private const string Bdf = "0000:00:04.0";
    private const string Peer4 = "10.199.4.1", Dataplane4 = "10.199.4.2";
    private const string Peer6 = "fd99:4::1", Dataplane6 = "fd99:4::2";

    [SkippableFact]
    public void The_dataplane_in_the_guest_answers_ping_and_echoes_udp_and_tcp_through_a_vmxnet3_it_drives_by_vfio()
    {
        string? why = QemuGuestBoot.CannotRunBecause();
        Skip.If(why is not null, why);
        using var lab = new LinuxLab();
        string ns = lab.Namespace();
        var options = new QemuGuestOptions
        {
            Nics = [new("vmxnet3", 4, ns)],
            Vfio = [Bdf],
            Files = new Dictionary<string, string>
            {
                ["/etc/dataplane.conf"] = $"""
                    port n0 driver vfio pci {Bdf}
                    inet  n0 {Dataplane4}/24
                    inet6 n0 {Dataplane6}/64
                    set cores 0
                    app echo udp listen {Dataplane4}:7
                    app echo tcp listen {Dataplane4}:7

                    """,
            },
            Run = GuestDataplane.Script([Bdf]),
        };
        using QemuGuest guest = QemuGuest.Boot(lab, options);
        try
        {
            lab.Address(ns, guest.Taps[0], $"{Peer4}/24", $"{Peer6}/64");
            guest.Expect("GUEST started");
            Assert.Contains("dataplane: running:", guest.Console, StringComparison.Ordinal);

            // The first requests wait for the neighbour resolution both ways: ping until one answers (bounded), then count.
            (int first, string firstOut) = LinuxLab.Execute("ip", "netns", "exec", ns, "ping", "-n", "-c", "1", "-w", "60", Dataplane4);
            Assert.True(first == 0, $"no answer to a first ping within 60 s:\n{firstOut}");
            (int ping4, string out4) = LinuxLab.Execute("ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", "20", "-i", "0.05", "-w", "60", Dataplane4);
            output.WriteLine(out4);
            Assert.True(ping4 == 0, $"IPv4 ping through the vmxnet3 failed:\n{out4}");
            Assert.Contains(" 0% packet loss", out4, StringComparison.Ordinal);

            (int ping6, string out6) = LinuxLab.Execute("ip", "netns", "exec", ns, "ping", "-6", "-n", "-c", "5", "-i", "0.2", "-w", "60", Dataplane6);
            output.WriteLine(out6);
            Assert.True(ping6 == 0, $"IPv6 ping through the vmxnet3 failed:\n{out6}");

            // A datagram of 1,400 bytes comes back whole (the echo app).
            string payload = new('x', 1400);
            (int echo, string echoed) = LinuxLab.Execute("ip", "netns", "exec", ns, "sh", "-c",
                $"printf '%s' '{payload}' | socat -t 5 - UDP4:{Dataplane4}:7");
            Assert.True(echo == 0 && echoed.Contains(payload, StringComparison.Ordinal), $"no echo of 1,400 bytes (socat exit {echo}): {echoed.Length} bytes back");

            // Two megabytes through the TCP echo: the dataplane's TCP sends back what it takes, as
            // super-segments the device cuts (VMXNET3_OM_TSO) when it has them queued.
            (int tcp, string counted) = LinuxLab.Execute("ip", "netns", "exec", ns, "sh", "-c",
                $"head -c 2000000 /dev/zero | timeout 60 socat -t 20 - TCP4:{Dataplane4}:7 | wc -c");
            Assert.True(tcp == 0 && counted.Trim() == "2000000", $"2,000,000 bytes through the TCP echo came back as {counted.Trim()} (exit {tcp})");
        }
        finally
        {
            GuestDataplane.Stop(guest, output);
        }
        Assert.Matches(@"driver vfio \(vmxnet3\)", guest.Console);
        Assert.Contains("GUEST dataplane exit 0", guest.Console, StringComparison.Ordinal);
        Assert.Matches(@"GUEST rebound vmxnet3\b", guest.Console);
    }

    [SkippableFact]
    public void The_dataplane_in_the_guest_forwards_iperf3_between_two_vmxnet3s_with_two_queues_each_all_received_on_queue_0_and_picks_up_a_link_set_down_and_up()
    {
        string? why = QemuGuestBoot.CannotRunBecause() ?? LinuxLab.Missing("iperf3");
        Skip.If(why is not null, why);
        using var lab = new LinuxLab();
        string left = lab.Namespace("left"), right = lab.Namespace("right");
        var options = new QemuGuestOptions
        {
            Nics = [new("vmxnet3", 4, left), new("vmxnet3", 6, right)],
            Vfio = ["0000:00:04.0", "0000:00:06.0"],
            Files = new Dictionary<string, string>
            {
                ["/etc/dataplane.conf"] = """
                    port a driver vfio pci 0000:00:04.0 queues 2
                    port b driver vfio pci 0000:00:06.0 queues 2
                    inet  a 10.199.6.1/24
                    inet6 a fd99:6::1/64
                    inet  b 10.199.7.1/24
                    inet6 b fd99:7::1/64
                    set forwarding on
                    set cores 0-1

                    """,
            },
            Run = GuestDataplane.Script([], seconds: 200),
            Timeout = TimeSpan.FromSeconds(240),
        };
        using QemuGuest guest = QemuGuest.Boot(lab, options);
        try
        {
            GuestDataplane.ForwardIperf3(lab, guest, output, left, right, a: 6, b: 7, streams: 4);

            // LRO (set lro on by default): QEMU's vmxnet3 with UPT1_F_LRO hands up the taps' TSO
            // super-frames over head and body buffers; the driver marks them (MTU less headers) and
            // the engine forwards them whole to port b, whose device segments them (VMXNET3_OM_TSO).
            string netstat = GuestDataplane.Ctl(guest, "netstat -s");
            long superFrames = Count(netstat, "super-frames received");
            output.WriteLine($"super-frames received {superFrames}, sent whole {Count(netstat, "super-frames sent whole to a port that segments")}, "
                + $"cut in software {Count(netstat, "super-frames cut in software")}");
            Assert.True(superFrames > 0, $"no super-frame received with lro on:\n{netstat}");
            foreach (string error in (string[])["super-frames with a segment size of 0 or beyond the payload", "super-frames with malformed headers",
                "super-frames whose chain of buffers ends early", "super-frames whose segmentation type does not match their headers"])
                Assert.Equal(0, Count(netstat, error));

            // Two workers: queue 0 takes every frame (below), and the frames of the flows worker 1
            // owns are handed over to it, so both workers carry flows (the 8 iperf3 streams all
            // owned by worker 0: 1 in 256).
            Match worker1 = Regex.Match(netstat, @"worker 1 \(cpu \d+\):\r?\n(?:\t.*\r?\n)*?\t(\d+) packets handed in by other workers");
            Assert.True(worker1.Success, $"no worker 1 in netstat -s:\n{netstat}");
            long handedIn = long.Parse(worker1.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            output.WriteLine($"worker 1 took {handedIn} packets handed in by worker 0");
            Assert.True(handedIn > 1_000, $"worker 1 carried no flow: {handedIn} packets handed in:\n{netstat}");

            // Issue 16: port a's link down and up by QEMU's set_link, folded into this boot to spare one.
            GuestDataplane.LinkDownAndUp(guest, output, left, right, a: "10.199.6.1", b: "10.199.7.1", leftPeer: "10.199.6.2", rightPeer: "10.199.7.2");
        }
        finally
        {
            GuestDataplane.Stop(guest, output);
        }
        // QEMU 7.2's vmxnet3 receives on queue 0 only (hw/net/vmxnet3.c: RXQ_IDX 0, no RSS) and
        // takes one tap queue, so every frame comes in on queue 0; both transmit queues may send.
        string ifconfig = GuestDataplane.FinalIfconfig(guest);
        MatchCollection queues = Regex.Matches(ifconfig, @"queue (\d): rx (\d+) packets (\d+) bytes, .* rx drops (\d+), .* errors (\d+)");
        Assert.True(queues.Count >= 4, $"no per-queue counters in ifconfig:\n{ifconfig}");
        // Queue 0 took the iperf3 traffic, counted in bytes: with the device's LRO a frame holds up
        // to 64 KiB, so the frames vary with how the sender's TSO sized them (91,119 in a run at
        // load 22; 9,453 frames of 346 MB in another, where a bound of 10,000 frames failed). 10 MB
        // is 3 s of iperf3 at 27 Mbit/s.
        Assert.True(long.Parse(queues[0].Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture) > 10_000_000, $"port a's queue 0 took few bytes:\n{ifconfig}");
        Assert.All(queues.Take(4), q => Assert.Equal("0", q.Groups[5].Value));
        // With LRO QEMU writes a super-frame over up to 33 buffers and, finding ring 2 short mid-frame,
        // ends it with err (out of buffers): a receive drop, as a full ring's (61 of 25,547 in a run
        // at ring 2 of 1,024, 3,133 of 18,344 at 256). A twentieth would say the rings are starved.
        long rx = long.Parse(queues[0].Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        long drops = long.Parse(queues[0].Groups[4].Value, System.Globalization.CultureInfo.InvariantCulture);
        output.WriteLine($"port a queue 0: {rx} frames received, {drops} dropped for want of buffers");
        Assert.True(drops * 20 < rx, $"port a's queue 0 dropped {drops} of {rx} frames for want of buffers:\n{ifconfig}");
        Assert.Matches(@"driver vfio \(vmxnet3\) queues 2", ifconfig);
        Assert.Matches(@"offload: tso on, lro on\r?\n", ifconfig); // the device's LRO, not the software merge
        Assert.Contains("GUEST dataplane exit 0", guest.Console, StringComparison.Ordinal);
    }

    /// <summary>The sum of the counter lines <c>\tN TEXT</c> of <paramref name="netstat"/> (one a worker or one a group).</summary>
    private static long Count(string netstat, string text) =>
        Regex.Matches(netstat, $@"\t(\d+) {Regex.Escape(text)}\r?$", RegexOptions.Multiline)
            .Sum(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
}
