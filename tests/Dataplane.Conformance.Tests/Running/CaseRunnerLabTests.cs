using System.Diagnostics;
using Dataplane.Conformance.Cases;
using Dataplane.Conformance.Labs;
using Dataplane.Conformance.Model;
using Dataplane.Conformance.Running;
using Dataplane.Labs;

namespace Dataplane.Conformance.Tests.Running;

/// <summary>
/// Each status, produced for real: a namespace lab with the hosts joined directly (and Linux between
/// them for the counters), tests whose client is a missing tool, one that hangs, one that fails...
/// Needs root; every namespace is gone afterwards.
/// </summary>
public sealed class CaseRunnerLabTests : IDisposable
{
    private static readonly LabDefinition Definition = new("t", "t.lab",
        new HostSpec("left", HostKind.Netns, null, null), new HostSpec("right", HostKind.Netns, null, null),
        new HostSpec("sut", HostKind.Netns, null, null), ["tap"], [], 5, []);

    private readonly string _folder = Directory.CreateTempSubdirectory("dataplane-conformance-test.").FullName;
    private readonly string _id = $"dplt{Environment.ProcessId}x{Random.Shared.Next(1000)}";

    private static TestCase Case(string name, string client, Server[]? servers = null, bool through = true, Feature[]? needs = null) =>
        new(name, "a test of the runner", needs ?? [Feature.Forwarding], through, _ => 30,
            c => new Plan(servers ?? [], Place.Left, client, (o, s) => Parsers.ValueLine(s.Count > 0 ? s[0] + o : o)));

    private static RunSettings Settings(int? timeout = null) =>
        new(2, timeout, new Dictionary<string, string>(), Capture: false);

    [SkippableFact]
    public async Task Each_status_comes_from_what_the_test_did()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root for network namespaces");
        var log = new StringWriter();
        await using (Lab lab = await Lab.CreateAsync(Definition, _id, log, CancellationToken.None))
        {
            SutSession direct = await lab.AttachAsync(SutKind.Direct, "tap", "", _folder, CancellationToken.None);
            async Task<Result> Run(TestCase test, RunSettings? settings = null, string? folder = null) =>
                await CaseRunner.RunAsync(test, lab, direct, settings ?? Settings(), folder ?? _folder, CancellationToken.None);

            Result pass = await Run(Case("pass", $"ping -c 1 -W 2 {lab.Addresses.Of("right", 4)} && echo 'VALUE 1000 bits/sec send'"));
            Assert.Equal(Status.Pass, pass.Status);
            Assert.Equal(1000, pass.BitsPerSecond);
            Assert.Contains("VALUE 1000 bits/sec send", await File.ReadAllTextAsync(Path.Combine(_folder, pass.Log!)));

            Result norun = await Run(Case("norun", "no-such-peer-tool --flood"));
            Assert.Equal(Status.Norun, norun.Status);
            Assert.Contains("could not be started", norun.Message);

            var clock = Stopwatch.StartNew();
            Result noterm = await Run(Case("noterm", "sleep 60"), Settings(timeout: 2));
            Assert.Equal(Status.Noterm, noterm.Status);
            Assert.InRange(clock.Elapsed.TotalSeconds, 1.5, 50); // stopped at its limit, long before the 60 s

            Result noexit = await Run(Case("noexit", "echo 'VALUE 5 bits/sec send'; exit 3"));
            Assert.Equal(Status.Noexit, noexit.Status);
            Assert.StartsWith("left: exit 3", noexit.Message);

            Result fail = await Run(Case("fail", "echo no value here"));
            Assert.Equal(Status.Fail, fail.Status);

            Result server = await Run(Case("server", "true", [new Server(Place.Right, "exec no-such-server", ListenPort: "tcp:5999")]));
            Assert.Equal(Status.Norun, server.Status);
            Assert.StartsWith("right: could not be started", server.Message);

            Result role = await Run(Case("role", "true", through: false));
            Assert.Equal(Status.Norun, role.Status); // direct has no system under test for this role

            string blocked = Path.Combine(_folder, "blocked");
            Directory.CreateDirectory(blocked);
            await File.WriteAllTextAsync(Path.Combine(blocked, "logs"), "a file where the log folder would go");
            Result nolog = await Run(Case("nolog", "true"), folder: blocked);
            Assert.Equal(Status.Nolog, nolog.Status);
            Assert.Null(nolog.Log);

            await lab.DetachAsync(direct);

            // XPASS: a datagram with a bad UDP checksum to Linux between the hosts moves UdpInCsumErrors.
            SutSession linux = await lab.AttachAsync(SutKind.Linux, "tap", "", _folder, CancellationToken.None);
            string badDatagram =
                "python3 -c \"import socket; s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP); " +
                $"s.sendto(bytes([4, 210, 0, 9, 0, 12, 0xde, 0xad, 1, 2, 3, 4]), ('{lab.Addresses.Of("sutleft", 4)}', 0))\" && " +
                // A ping answered after it on the same path: the datagram has been taken in by then.
                $"ping -c 1 -W 10 {lab.Addresses.Of("sutleft", 4)} >/dev/null && echo 'VALUE 96 bits/sec send'";
            Result xpass = await CaseRunner.RunAsync(Case("xpass", badDatagram), lab, linux, Settings(), _folder, CancellationToken.None);
            Assert.Equal(Status.Xpass, xpass.Status);
            Assert.Contains("UdpInCsumErrors +1", xpass.Message);
            await lab.DetachAsync(linux);
        }
        string namespaces = await new LocalHost().RunAsync("ip netns list", TimeSpan.FromSeconds(10)).ContinueWith(t => t.Result.Output);
        Assert.DoesNotContain(_id, namespaces);
    }

    [SkippableFact]
    public async Task A_servers_forked_children_end_with_the_test()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root for network namespaces");
        await using Lab lab = await Lab.CreateAsync(Definition, _id + "f", new StringWriter(), CancellationToken.None);
        SutSession direct = await lab.AttachAsync(SutKind.Direct, "tap", "", _folder, CancellationToken.None);
        // socat forks a child per peer, which outlives its parent's SIGINT unless it is signalled too.
        string right = lab.Addresses.Of("right", 4);
        TestCase echo = Case("fork", $"echo hello | socat -T 2 - UDP4:{right}:5998 && echo 'VALUE 40 bits/sec echo'",
            [new Server(Place.Right, $"exec socat UDP4-LISTEN:5998,bind={right},fork,reuseaddr PIPE", ListenPort: "udp:5998")]);
        Result result = await CaseRunner.RunAsync(echo, lab, direct, Settings(), _folder, CancellationToken.None);
        Assert.Equal(Status.Pass, result.Status);
        Assert.Contains("hello", await File.ReadAllTextAsync(Path.Combine(_folder, result.Log!)));
        string Left() => NetnsLab.Run("ip", "netns", "pids", $"{_id}f-right").Trim();
        Assert.True(NetnsLab.Until(() => Left().Length == 0, TimeSpan.FromSeconds(30)), $"left in the namespace: {Left()}");
        await lab.DetachAsync(direct);
    }

    [SkippableFact]
    public async Task A_test_the_dataplane_cannot_run_is_norun_and_never_started()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root for network namespaces");
        await using Lab lab = await Lab.CreateAsync(Definition, _id + "m", new StringWriter(), CancellationToken.None);
        // A session that says it is the dataplane; the test never reaches it.
        var session = new SutSession(SutKind.Dataplane, lab.Sut, null, null, null);
        Result result = await CaseRunner.RunAsync(Case("tcp", "touch /tmp/never", needs: [Feature.Multicast]), lab, session, Settings(), _folder, CancellationToken.None);
        Assert.Equal(Status.Norun, result.Status);
        Assert.Equal(DataplaneFeatures.Missing(Feature.Multicast), result.Message);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
