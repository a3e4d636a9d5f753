using Dataplane.Labs.Guest;
using Xunit.Abstractions;

namespace Dataplane.Tests.Guest;

/// <summary>
/// The dataplane in the QEMU guest drives a vmxnet3 through VFIO (issue 16): QEMU's vmxnet3 at
/// 0000:00:04.0 on vfio-pci, its tap in a host namespace, and a Linux peer there pinging the
/// dataplane's addresses over IPv4 and IPv6 and sending it UDP to echo. After SIGTERM the device
/// goes back to the vmxnet3 kernel driver. One boot, in the CPU-heavy collection.
/// </summary>
[Collection(CpuHeavyCollection.Name)]
public sealed class Vmxnet3GuestTests(ITestOutputHelper output)
{
    private const string Bdf = "0000:00:04.0";
    private const string Peer4 = "10.199.4.1", Dataplane4 = "10.199.4.2";
    private const string Peer6 = "fd99:4::1", Dataplane6 = "fd99:4::2";

    [SkippableFact]
    public void The_dataplane_in_the_guest_answers_ping_and_echoes_udp_through_a_vmxnet3_it_drives_by_vfio()
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

                    """,
            },
            Run = $"""
                dataplane run -c /etc/dataplane.conf -s /tmp/ctl.sock > /tmp/dataplane.log 2>&1 & pid=$!
                i=0
                while ! grep -q 'running:' /tmp/dataplane.log && kill -0 $pid 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
                cat /tmp/dataplane.log
                echo "GUEST started"
                read -t 100 word
                dataplane ctl -s /tmp/ctl.sock ifconfig
                dataplane ctl -s /tmp/ctl.sock netstat -s | grep -v ' 0$' | head -40
                kill -TERM $pid; wait $pid; echo "GUEST dataplane exit $?"
                tail -3 /tmp/dataplane.log
                guest-bind {Bdf} kernel
                echo "GUEST rebound $(basename "$(readlink /sys/bus/pci/devices/{Bdf}/driver)")"

                """,
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
        }
        finally
        {
            guest.SendLine("stop");
            guest.WaitForPowerOff();
            output.WriteLine(guest.Console);
        }
        Assert.Matches(@"driver vfio \(vmxnet3\)", guest.Console);
        Assert.Contains("GUEST dataplane exit 0", guest.Console, StringComparison.Ordinal);
        Assert.Matches(@"GUEST rebound vmxnet3\b", guest.Console);
    }
}
