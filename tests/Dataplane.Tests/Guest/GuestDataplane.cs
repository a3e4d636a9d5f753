using System.Diagnostics;
using System.Text.RegularExpressions;
using Dataplane.Labs.Guest;
using Xunit.Abstractions;

namespace Dataplane.Tests.Guest;

/// <summary>What the VFIO guest tests share: the guest's script around a running dataplane, and the stop.</summary>
internal static class GuestDataplane
{
    /// <summary>
    /// The guest's /etc/guest/run: starts the dataplane on /etc/dataplane.conf and waits (bounded)
    /// until it runs, says <c>GUEST started</c>, then takes lines from the console, each within
    /// <paramref name="seconds"/>: <c>N ARGS</c> runs <c>dataplane ctl ARGS</c> (<c>N log</c> prints the
    /// dataplane's log) and says <c>GUEST ctl N end</c> (<see cref="Ctl"/>); <c>stop</c> (the test's
    /// <see cref="Stop"/>) or the time up ends them. Then it prints ifconfig (then <c>GUEST ifconfig end</c>),
    /// the counters that moved and what <paramref name="alsoPrint"/> prints, stops the dataplane with
    /// SIGTERM (<c>GUEST dataplane exit N</c>; SIGINT is ignored by a background job of a script),
    /// and gives each of <paramref name="rebind"/> back to its kernel driver (<c>GUEST rebound DRIVER</c>).
    /// </summary>
    public static string Script(IReadOnlyList<string> rebind, int seconds = 100, string alsoPrint = "")
    {
        string rebound = string.Concat(rebind.Select(bdf => $"""
            guest-bind {bdf} kernel
            echo "GUEST rebound $(basename "$(readlink /sys/bus/pci/devices/{bdf}/driver)")"

            """));
        return $"""
            dataplane run -c /etc/dataplane.conf -s /tmp/ctl.sock > /tmp/dataplane.log 2>&1 & pid=$!
            i=0
            while ! grep -q 'running:' /tmp/dataplane.log && kill -0 $pid 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
            cat /tmp/dataplane.log
            echo "GUEST started"
            while read -t {seconds} n args && [ "$n" != stop ]; do
              if [ "$args" = log ]; then cat /tmp/dataplane.log; else dataplane ctl -s /tmp/ctl.sock $args; fi
              echo "GUEST ctl $n end"
            done
            dataplane ctl -s /tmp/ctl.sock ifconfig
            echo "GUEST ifconfig end"
            dataplane ctl -s /tmp/ctl.sock netstat -s | grep -v ' 0$' | head -60
            {alsoPrint}
            kill -TERM $pid; wait $pid; echo "GUEST dataplane exit $?"
            tail -3 /tmp/dataplane.log
            {rebound}
            """;
    }

    private static int _requests;

    /// <summary>The ifconfig the script prints after the stop (the last before <c>GUEST ifconfig end</c>), not one a test asked for on the way.</summary>
    public static string FinalIfconfig(QemuGuest guest)
    {
        string console = guest.Console;
        int end = console.LastIndexOf("GUEST ifconfig end", StringComparison.Ordinal);
        if (end < 0)
            return console[Math.Max(0, console.IndexOf("GUEST started", StringComparison.Ordinal))..];
        int asked = console.LastIndexOf("GUEST ctl ", end, StringComparison.Ordinal);
        int start = asked >= 0 ? asked : Math.Max(0, console.IndexOf("GUEST started", StringComparison.Ordinal));
        return console[start..end];
    }

    /// <summary>
    /// Runs <c>dataplane ctl <paramref name="args"/></c> in the guest through the script's console
    /// loop (<c>log</c>: the dataplane's log so far) and returns what it printed; throws
    /// <see cref="TimeoutException"/> when the answer does not come within 60 s.
    /// </summary>
    public static string Ctl(QemuGuest guest, string args)
    {
        int n = Interlocked.Increment(ref _requests);
        int from = guest.Console.Length;
        guest.SendLine($"{n} {args}");
        string end = $"GUEST ctl {n} end";
        guest.Expect(end, TimeSpan.FromSeconds(60));
        string console = guest.Console;
        int at = console.IndexOf(end, from, StringComparison.Ordinal);
        return console[from..at];
    }

    /// <summary>Tells the script to go on and waits for the guest to power off; a failure here is only said, so that it does not hide the test's own.</summary>
    public static void Stop(QemuGuest guest, ITestOutputHelper output)
    {
        try
        {
            guest.SendLine("stop");
            guest.WaitForPowerOff();
        }
        catch (Exception e) when (e is TimeoutException or IOException or InvalidOperationException)
        {
            output.WriteLine($"stopping the guest: {e.Message}");
        }
        output.WriteLine(guest.Console);
    }

    /// <summary>
    /// The hosts' half of a forwarding boot: <paramref name="left"/>'s tap gets 10.199.<paramref name="a"/>.2/24
    /// and fd99:<paramref name="a"/>::2/64, <paramref name="right"/>'s 10.199.<paramref name="b"/>.2 and
    /// fd99:<paramref name="b"/>::2, each routed to the other through the guest (.1 and ::1 on its
    /// two ports); once the dataplane runs, a first ping through (60 s at most, IPv4 then IPv6), then
    /// iperf3 with <paramref name="streams"/> streams from left to right for 3 s, IPv4 then IPv6, each
    /// to a one-off server on the right host (its output in the lab's iperf3-server.txt).
    /// </summary>
    public static void ForwardIperf3(LinuxLab lab, QemuGuest guest, ITestOutputHelper output, string left, string right, int a, int b, int streams)
    {
        lab.Address(left, guest.Taps[0], $"10.199.{a}.2/24", $"fd99:{a}::2/64");
        lab.Address(right, guest.Taps[1], $"10.199.{b}.2/24", $"fd99:{b}::2/64");
        lab.Route(left, $"10.199.{b}.0/24", $"10.199.{a}.1");
        lab.Route(left, $"fd99:{b}::/64", $"fd99:{a}::1");
        lab.Route(right, $"10.199.{a}.0/24", $"10.199.{b}.1");
        lab.Route(right, $"fd99:{a}::/64", $"fd99:{b}::1");
        guest.Expect("GUEST started");
        (int first, string firstOut) = LinuxLab.Execute("ip", "netns", "exec", left, "ping", "-n", "-c", "1", "-w", "60", $"10.199.{b}.2");
        Assert.True(first == 0, $"no ping through the guest within 60 s:\n{firstOut}");
        (int first6, string firstOut6) = LinuxLab.Execute("ip", "netns", "exec", left, "ping", "-6", "-n", "-c", "1", "-w", "60", $"fd99:{b}::2");
        Assert.True(first6 == 0, $"no IPv6 ping through the guest within 60 s:\n{firstOut6}");

        string server = lab.File("iperf3-server.txt");
        foreach (string destination in (string[])[$"10.199.{b}.2", $"fd99:{b}::2"])
        {
            using var log = new StreamWriter(server, append: true) { AutoFlush = true };
            using LabProcess iperf = lab.Start(right, "iperf3", ["-s", "-1", "-p", "5201"], TextWriter.Synchronized(log), ownSession: true);
            Assert.True(LinuxLab.Until(() => LinuxLab.Execute("ip", "netns", "exec", right, "ss", "-Hlnt", "sport = :5201").Output.Trim().Length > 0,
                TimeSpan.FromSeconds(30)), "iperf3 -s did not listen");
            string p = streams.ToString(System.Globalization.CultureInfo.InvariantCulture);
            (int exit, string said) = LinuxLab.Execute("ip", "netns", "exec", left, "iperf3", "-c", destination, "-P", p, "-t", "3", "--connect-timeout", "30000");
            output.WriteLine(said);
            Assert.True(exit == 0, $"iperf3 -P {p} to {destination} through the guest failed:\n{said}");
            Assert.Matches(@"\[SUM\].*receiver", said);
            iperf.StopAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// Issue 16's link check, in a guest whose dataplane forwards between port a (NIC 0, its tap in
    /// <paramref name="left"/>) and port b (NIC 1, in <paramref name="right"/>): QEMU's
    /// <c>set_link n0 off</c>; ifconfig counts one link-down and says no carrier for a, b still
    /// answers ping, a does not; frames forwarded towards a while down leave by its device (the
    /// device drops them: QEMU's set_link) without a transmit drop; <c>set_link n0 on</c>; a forwards
    /// again and the log has one down and one up line for a, none for b. Prints how long each change
    /// took to show in ifconfig.
    /// </summary>
    public static void LinkDownAndUp(QemuGuest guest, ITestOutputHelper output, string left, string right, string a, string b, string leftPeer, string rightPeer)
    {
        var clock = Stopwatch.StartNew();
        output.WriteLine($"set_link n0 off: '{guest.Monitor("set_link n0 off")}'");
        string down = UntilPortA(guest, output, "\tlink: 1 down, 0 up");
        output.WriteLine($"link down in ifconfig after {clock.Elapsed.TotalSeconds:0.00} s");
        Assert.Contains("\tstatus: no carrier", down, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^a: flags=<UP> ", down);
        (int other, string otherOut) = LinuxLab.Execute("ip", "netns", "exec", right, "ping", "-n", "-c", "3", "-i", "0.2", "-w", "30", b);
        Assert.True(other == 0, $"port b did not answer while port a's link was down:\n{otherOut}");
        (int cut, string cutOut) = LinuxLab.Execute("ip", "netns", "exec", left, "ping", "-n", "-c", "2", "-w", "3", a);
        Assert.True(cut != 0, $"port a answered with its link down:\n{cutOut}");
        // Forwarded towards a while its link is down: the frames go to the device, which drops them.
        (int lost, string lostOut) = LinuxLab.Execute("ip", "netns", "exec", right, "ping", "-n", "-c", "5", "-i", "0.2", "-w", "3", leftPeer);
        Assert.True(lost != 0, $"an answer came through port a with its link down:\n{lostOut}");
        string stillDown = UntilPortA(guest, output, "\tlink: 1 down, 0 up");
        Assert.True(Transmitted(stillDown) > Transmitted(down), $"nothing left by port a while its link was down:\n{down}\n{stillDown}");
        Assert.DoesNotMatch(@"tx drops [1-9]", stillDown);

        clock.Restart();
        output.WriteLine($"set_link n0 on: '{guest.Monitor("set_link n0 on")}'");
        string up = UntilPortA(guest, output, "\tlink: 1 down, 1 up");
        output.WriteLine($"link up in ifconfig after {clock.Elapsed.TotalSeconds:0.00} s");
        Assert.Contains("\tstatus: active", up, StringComparison.Ordinal);
        (int again, string againOut) = LinuxLab.Execute("ip", "netns", "exec", left, "ping", "-n", "-c", "1", "-w", "30", rightPeer);
        Assert.True(again == 0, $"no ping through port a within 30 s of its link coming back:\n{againOut}");
        string log = Ctl(guest, "log");
        Assert.Equal(1, Regex.Count(log, "dataplane: port a: link down"));
        Assert.Equal(1, Regex.Count(log, "dataplane: port a: link up"));
        Assert.DoesNotContain("port b: link", log, StringComparison.Ordinal);
    }

    /// <summary>Packets port a's queues transmitted, summed from its ifconfig lines.</summary>
    private static long Transmitted(string port) =>
        Regex.Matches(port, @"tx (\d+) packets").Sum(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Port a's lines of ctl ifconfig once they hold <paramref name="wanted"/>, polled (bounded: 30 s); fails with the last ifconfig.</summary>
    private static string UntilPortA(QemuGuest guest, ITestOutputHelper output, string wanted)
    {
        string last = "";
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            string ifconfig = Ctl(guest, "ifconfig");
            int at = ifconfig.IndexOf("a: flags=", StringComparison.Ordinal), end = ifconfig.IndexOf("b: flags=", StringComparison.Ordinal);
            last = at < 0 ? ifconfig : ifconfig[at..(end > at ? end : ifconfig.Length)];
            if (last.Contains(wanted, StringComparison.Ordinal))
            {
                output.WriteLine(last);
                return last;
            }
        }
        Assert.Fail($"port a never showed '{wanted}' within 30 s; its ifconfig:\n{last}");
        return last;
    }
}
