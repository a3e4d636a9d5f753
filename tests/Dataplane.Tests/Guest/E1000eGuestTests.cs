using System.Text.RegularExpressions;
using Dataplane.Labs.Guest;
using Xunit.Abstractions;

namespace Dataplane.Tests.Guest;

/// <summary>
/// The dataplane in the QEMU guest drives an e1000e (QEMU's 82574 model) through VFIO (issue 16):
/// the device on vfio-pci at slot 3, its tap in a host namespace, and a Linux peer there pinging
/// the dataplane's addresses over IPv4 and IPv6 and sending it UDP to echo. After SIGTERM the
/// device goes back to the kernel's e1000e driver. One boot, in the CPU-heavy collection.
/// </summary>
[Collection(CpuHeavyCollection.Name)]
public sealed class E1000eGuestTests(ITestOutputHelper output)
{
    private const string Bdf = "0000:00:03.0";
    private const string Peer4 = "10.199.3.1", Dataplane4 = "10.199.3.2";
    private const string Peer6 = "fd99:3::1", Dataplane6 = "fd99:3::2";

    [SkippableFact]
    public void The_dataplane_in_the_guest_answers_ping_and_echoes_udp_and_tcp_through_an_e1000e_it_drives_by_vfio()
    {
        string? why = QemuGuestBoot.CannotRunBecause();
        Skip.If(why is not null, why);
        using var lab = new LinuxLab();
        string ns = lab.Namespace();
        var options = new QemuGuestOptions
        {
            Nics = [new("e1000e", 3, ns)],
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
            Run = GuestDataplane.Script([Bdf], alsoPrint: "grep 'vfio-msix' /proc/interrupts"),
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
            Assert.True(ping4 == 0, $"IPv4 ping through the e1000e failed:\n{out4}");
            Assert.Contains(" 0% packet loss", out4, StringComparison.Ordinal);

            (int ping6, string out6) = LinuxLab.Execute("ip", "netns", "exec", ns, "ping", "-6", "-n", "-c", "5", "-i", "0.2", "-w", "60", Dataplane6);
            output.WriteLine(out6);
            Assert.True(ping6 == 0, $"IPv6 ping through the e1000e failed:\n{out6}");

            // A datagram of 1,400 bytes comes back whole (the echo app).
            string payload = new('x', 1400);
            (int echo, string echoed) = LinuxLab.Execute("ip", "netns", "exec", ns, "sh", "-c",
                $"printf '%s' '{payload}' | socat -t 5 - UDP4:{Dataplane4}:7");
            Assert.True(echo == 0 && echoed.Contains(payload, StringComparison.Ordinal), $"no echo of 1,400 bytes (socat exit {echo}): {echoed.Length} bytes back");

            // 300,000 bytes over TCP come back whole: MSS-sized segments whose checksums the device finishes (TXSM).
            (int tcp, string tcpOut) = LinuxLab.Execute("ip", "netns", "exec", ns, "sh", "-c",
                $"head -c 300000 /dev/zero | tr '\\0' y | socat -t 10 - TCP4:{Dataplane4}:7 | tr -cd y | wc -c");
            Assert.True(tcp == 0 && tcpOut.Trim() == "300000", $"the TCP echo gave back {tcpOut.Trim()} of 300000 bytes (exit {tcp})");
        }
        finally
        {
            GuestDataplane.Stop(guest, output);
        }
        Assert.Matches(@"driver vfio \(e1000e", guest.Console);
        // The receive queue's vector fired: an idle worker slept on its eventfd and was woken by the device.
        Match rx = Regex.Match(guest.Console, @"^\s*\d+:\s+((?:\d+\s+)+).*vfio-msix\[0\]", RegexOptions.Multiline);
        Assert.True(rx.Success, "no vfio-msix[0] line in /proc/interrupts");
        Assert.True(rx.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Sum(long.Parse) > 0, $"MSI-X vector 0 never fired: {rx.Value}");
        Assert.Contains("GUEST dataplane exit 0", guest.Console, StringComparison.Ordinal);
        Assert.Matches(@"GUEST rebound e1000e\b", guest.Console);
    }

    [SkippableFact]
    public void The_dataplane_in_the_guest_forwards_iperf3_between_two_e1000es_it_drives_by_vfio_and_picks_up_a_link_set_down_and_up()
    {
        string? why = QemuGuestBoot.CannotRunBecause() ?? LinuxLab.Missing("iperf3");
        Skip.If(why is not null, why);
        using var lab = new LinuxLab();
        string left = lab.Namespace("left"), right = lab.Namespace("right");
        var options = new QemuGuestOptions
        {
            Nics = [new("e1000e", 3, left), new("e1000e", 7, right)],
            Vfio = ["0000:00:03.0", "0000:00:07.0"],
            Files = new Dictionary<string, string>
            {
                ["/etc/dataplane.conf"] = """
                    port a driver vfio pci 0000:00:03.0
                    port b driver vfio pci 0000:00:07.0
                    inet  a 10.199.8.1/24
                    inet6 a fd99:8::1/64
                    inet  b 10.199.9.1/24
                    inet6 b fd99:9::1/64
                    set forwarding on
                    set cores 0

                    """,
            },
            Run = GuestDataplane.Script(["0000:00:03.0", "0000:00:07.0"], seconds: 200),
            Timeout = TimeSpan.FromSeconds(240),
        };
        using QemuGuest guest = QemuGuest.Boot(lab, options);
        try
        {
            GuestDataplane.ForwardIperf3(lab, guest, output, left, right, a: 8, b: 9, streams: 4);

            // Issue 16: port a's link down and up by QEMU's set_link, folded into this boot to spare one.
            GuestDataplane.LinkDownAndUp(guest, output, left, right, a: "10.199.8.1", b: "10.199.9.1", leftPeer: "10.199.8.2", rightPeer: "10.199.9.2");
        }
        finally
        {
            GuestDataplane.Stop(guest, output);
        }
        Assert.Matches(@"driver vfio \(e1000e", guest.Console);
        Assert.Contains("GUEST dataplane exit 0", guest.Console, StringComparison.Ordinal);
        Assert.Matches(@"GUEST driver 0000:00:07.0 e1000e\b", guest.Console);
    }
}
