using System.Text.RegularExpressions;
using Dataplane.Tests.Control;
using Dataplane.Tests.Drivers;

namespace Dataplane.Tests.Runtime;

/// <summary>
/// <c>dataplane run</c> with UDP apps on two-queue taps and two workers, and socat in network
/// namespaces behind them as the peers: real Linux UDP against our echo and our relays.
/// </summary>
public sealed class UdpAppLabTests
{
    /// <summary>How long a peer waits for its answer: a bound for a loaded machine, not a measure.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [SkippableFact]
    public void Socat_in_a_namespace_gets_each_datagram_echoed_over_ipv4_and_ipv6()
    {
        TapLab.RequireRoot();
        using var lab = new TapLab();
        string tap = TapLab.UniqueName('t');
        using var host = new RunningHost(lab.File("dp.sock"),
            $"port t0 driver tap ifname {tap} queues 2\ninet t0 10.66.0.2/24\ninet6 t0 fd66::2/64\nset cores 0-1\n" +
            "app echo udp listen 0.0.0.0:7\napp echo udp listen [::]:7\n");
        Assert.True(host.WaitServing(), host.Stderr.ToString());
        // The host opened the tap here; the peer gets it in a namespace of its own, IPv6 on.
        string ns = lab.Namespace();
        TapLab.Run("ip", "link", "set", tap, "netns", ns);
        TapLab.Run("ip", "-n", ns, "addr", "add", "10.66.0.1/24", "dev", tap);
        TapLab.Run("ip", "-n", ns, "addr", "add", "fd66::1/64", "dev", tap, "nodad");
        TapLab.Run("ip", "-n", ns, "link", "set", tap, "up");

        // Several peers at once, each from its own port, so that both workers own some of them.
        var peers = new List<(string Text, LabProcess Socat)>();
        for (int i = 0; i < 6; i++)
        {
            string text = $"hello {i} over IPv4";
            peers.Add((text, Peer(lab, ns, text, "UDP4:10.66.0.2:7")));
            string text6 = $"hello {i} over IPv6";
            peers.Add((text6, Peer(lab, ns, text6, "UDP6:[fd66::2]:7")));
        }
        foreach ((string text, LabProcess socat) in peers)
            AssertAnswered(socat, text, host);

        var (code, sockets, _) = RunningHost.Ctl("-s", host.Socket, "netstat", "-an");
        Assert.Equal(0, code);
        Assert.Matches(@"(?m)^udp +0 +0  \*\.7 +\*\.\* +all$", sockets);
        Assert.Matches(@"(?m)^udp6 +0 +0  \*\.7 +\*\.\* +all$", sockets);
        Assert.Equal(0, host.Stop());
        string counters = host.Stdout.ToString();
        Match delivered = Regex.Match(counters, @"udp: (\d+) datagrams delivered");
        Assert.True(delivered.Success, counters);
        Assert.Equal(12, int.Parse(delivered.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.DoesNotContain("bad checksums", counters);
    }

    [SkippableFact]
    public void Socat_clients_reach_a_socat_echo_server_through_the_copy_and_the_splice_relay_and_back()
    {
        TapLab.RequireRoot();
        using var lab = new TapLab();
        string left = TapLab.UniqueName('t'), right = TapLab.UniqueName('t');
        using var host = new RunningHost(lab.File("dp.sock"),
            $"port t0 driver tap ifname {left} queues 2\nport t1 driver tap ifname {right} queues 2\n" +
            "inet t0 10.66.0.2/24\ninet t1 10.67.0.1/24\nset cores 0-1\n" +
            "app relay udp listen 10.66.0.2:9000 connect 10.67.0.2:9001 mode copy\n" +
            "app relay udp listen 10.66.0.2:9100 connect 10.67.0.2:9001 mode splice\n");
        Assert.True(host.WaitServing(), host.Stderr.ToString());
        string clients = lab.Namespace(), server = lab.Namespace();
        TapLab.MoveInto(left, clients, "10.66.0.1/24");
        TapLab.MoveInto(right, server, "10.67.0.2/24");
        // A UDP echo server: one process answering each datagram to its sender. (socat's
        // UDP4-RECVFROM with a child per datagram lost 2 answers of 12 in a CI run: the relay sent
        // 12 datagrams on and got 10 back; UDP-LISTEN's child per peer reads other new peers'
        // datagrams queued on its socket.) In a process group of its own (setsid execs it, so the
        // group is its PID), ended whole.
        LabProcess echo = lab.StartIn(server, "setsid", "python3", "-c",
            "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('0.0.0.0', 9001))\n" +
            "while True:\n    data, peer = s.recvfrom(65535)\n    s.sendto(data, peer)\n    print('answered', peer, data, flush=True)\n");
        try
        {
            Assert.True(LinuxLab.Until(() => TapLab.RunIn(server, "ss", "-Hlun", "sport = :9001") != "", Patience), $"the echo server does not listen: {echo.Error}");
            RelayThroughBothModes(host, lab, clients, echo);
        }
        finally
        {
            _ = Tmds.Linux.LibC.kill(-echo.Id, Tmds.Linux.LibC.SIGKILL);
        }
    }

    /// <summary>
    /// A peer in <paramref name="ns"/>: socat sends <paramref name="text"/> and a newline as one
    /// datagram to <paramref name="address"/> and prints what comes back, for as long as it is let
    /// run (it is stopped once an answer is in: <see cref="AssertAnswered"/>).
    /// </summary>
    private static LabProcess Peer(TapLab lab, string ns, string text, string address)
    {
        LabProcess socat = lab.StartWithInputIn(ns, "socat", "-", address);
        socat.Input.Write(text + "\n"); // one write, one datagram
        return socat;
    }

    /// <summary>
    /// Waits (bounded) until <paramref name="socat"/> has printed an answer, a line, stops it, and
    /// checks the answer was <paramref name="text"/> and nothing else, and that socat reported no
    /// error.
    /// </summary>
    private static void AssertAnswered(LabProcess socat, string text, RunningHost host, string context = "")
    {
        bool answered = LinuxLab.Until(() => socat.Output != "" || socat.HasExited, Patience);
        socat.Stop();
        Assert.True(answered, $"{socat.CommandLine}: no answer within {Patience.TotalSeconds} s{context}; the dataplane: {Counters(host)}");
        Assert.True(text + "\n" == socat.Output, $"{socat.CommandLine}: '{socat.Output}'{context}; the dataplane: {Counters(host)}");
        Assert.True(socat.Error == "", $"{socat.CommandLine}: {socat.Error}{context}");
    }

    /// <summary>The dataplane's sockets and counters, for a failure's message.</summary>
    private static string Counters(RunningHost host) =>
        RunningHost.Ctl("-s", host.Socket, "netstat", "-an").Out + RunningHost.Ctl("-s", host.Socket, "netstat", "-s").Out;

    /// <summary>Six clients through each relay at once; each must get its own datagram back, and no other.</summary>
    private static void RelayThroughBothModes(RunningHost host, TapLab lab, string clients, LabProcess echo)
    {
        var peers = new List<(string Text, LabProcess Socat)>();
        foreach (int port in new[] { 9000, 9100 })
        {
            for (int i = 0; i < 6; i++)
            {
                string text = $"datagram {i} through {port}";
                peers.Add((text, Peer(lab, clients, text, $"UDP4:10.66.0.2:{port}")));
            }
        }
        foreach ((string text, LabProcess socat) in peers)
            AssertAnswered(socat, text, host, $"; the echo server: {echo.Output}{echo.Error}");

        var (code, sockets, _) = RunningHost.Ctl("-s", host.Socket, "netstat", "-an");
        Assert.Equal(0, code);
        Assert.Equal(6, Regex.Matches(sockets, @"(?m)^udp +0 +0  10\.66\.0\.2\.9100 +10\.66\.0\.1\.\d+ +spliced +[01]$").Count);
        Assert.Equal(6, Regex.Matches(sockets, @"(?m)^udp +0 +0  10\.66\.0\.2\.9000 +10\.66\.0\.1\.\d+ +[01]$").Count);
        Assert.Equal(0, host.Stop());
        string counters = host.Stdout.ToString();
        Assert.Matches(@"udp: 12 relay sessions opened", counters);
        Assert.Matches(@"udp: 6 datagrams moved by splice inside the stack", counters); // the answers; each client's first went through the app
        Assert.DoesNotContain("nobody listens", counters);
    }
}
