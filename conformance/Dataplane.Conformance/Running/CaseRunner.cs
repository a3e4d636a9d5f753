using System.Diagnostics;
using Dataplane.Conformance.Cases;
using Dataplane.Conformance.Labs;
using Dataplane.Conformance.Model;
using Dataplane.Labs;

namespace Dataplane.Conformance.Running;

/// <summary>What a run's tests share: the test length, time limit override, tool commands, where logs go.</summary>
/// <param name="Seconds">How long a throughput test sends.</param>
/// <param name="Timeout">A time limit for every test, overriding each test's own; null for theirs.</param>
/// <param name="Tools">Peer tool commands by name.</param>
/// <param name="Capture">Whether tests are captured and judged by tshark.</param>
public sealed record RunSettings(int Seconds, int? Timeout, IReadOnlyDictionary<string, string> Tools, bool Capture);

/// <summary>
/// Runs one test on the attached system under test and gives it exactly one status, in the sense
/// of OpenBSD's netlink: NOLOG (no log file), NORUN (its feature is missing, a tool or server would
/// not start), NOTERM (its time limit passed), NOEXIT (non-zero exit), FAIL (no value), XPASS (an
/// error counter moved, or the capture holds a bad frame from the system under test), else PASS.
/// </summary>
internal static class CaseRunner
{
    public static async Task<Result> RunAsync(TestCase test, Lab lab, SutSession session, RunSettings settings,
        string runFolder, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        string who = session.Kind switch { SutKind.Dataplane => "dataplane", SutKind.Linux => "linux", _ => "direct" };
        string logName = $"logs/{test.Name}.{who}.log";
        StreamWriter file;
        try
        {
            Directory.CreateDirectory(Path.Combine(runFolder, "logs"));
            file = new StreamWriter(Path.Combine(runFolder, logName)) { AutoFlush = true };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new Result(test.Name, Status.Nolog, $"cannot create {logName}: {e.Message}", null, null, null, clock.Elapsed.TotalSeconds);
        }
        await using (file.ConfigureAwait(false))
        {
            TextWriter log = TextWriter.Synchronized(file);
            log.WriteLine($"# {test.Name}: {test.Description}");
            log.WriteLine($"# system under test: {who}{(session.Kind == SutKind.Dataplane ? "" : "")}, lab {lab.Id}, {DateTimeOffset.UtcNow:u}");
            Result Done(Status status, string message, Measurement? value = null, bool known = false)
            {
                log.WriteLine($"{status.Name()}\t{test.Name}\t{message}");
                if (value is not null)
                    log.WriteLine($"VALUE {value.BitsPerSecond:0} bits/sec {value.Direction}");
                return new Result(test.Name, status, message, value?.BitsPerSecond, value?.Direction, logName, Math.Round(clock.Elapsed.TotalSeconds, 1), known);
            }

            if (session.Kind == SutKind.Dataplane && test.Needs.Select(DataplaneFeatures.Missing).FirstOrDefault(m => m is not null) is string missing)
                return Done(Status.Norun, missing, known: true);
            if (session.Kind == SutKind.Direct && !test.ThroughSut)
                return Done(Status.Norun, "modifier direct: no system under test between the hosts to run this role", known: true);
            if (session.Gone is string gone)
                return Done(Status.Norun, gone);

            var context = new PlanContext(lab.Addresses, session.Kind, settings.Seconds, settings.Tools,
                lab.LeftInterface, lab.RightInterface, lab.SutInterfaces.Left, lab.SutInterfaces.Right, session.Ctl);
            Plan plan = test.Make(context);
            if (plan.Unrunnable is string unrunnable)
                return Done(Status.Norun, unrunnable, known: true);
            Host HostOf(Place p) => p switch { Place.Left => lab.Left, Place.Right => lab.Right, _ => lab.Sut };
            if (plan.Servers.Select(s => HostOf(s.Place).CannotRun(s.Command)).Append(HostOf(plan.Client).CannotRun(plan.ClientCommand))
                    .FirstOrDefault(reason => reason is not null) is string cannot)
                return Done(Status.Norun, cannot, known: true);
            int limit = settings.Timeout ?? test.Timeout(settings.Seconds);

            // The counters on the system under test and the captures on the hosts, at once.
            Task<IReadOnlyDictionary<string, long>?> counting = session.ErrorCountersAsync(cancel);
            Task<CaptureCheck>? capturing = settings.Capture
                ? CaptureCheck.StartAsync([(lab.Left, lab.LeftInterface), (lab.Right, lab.RightInterface)],
                    Path.Combine(runFolder, "logs"), $"{test.Name}.{who}", Tool(settings, "tcpdump"), log, cancel)
                : null;
            IReadOnlyDictionary<string, long>? before;
            CaptureCheck? capture = null;
            try
            {
                await Task.WhenAll(capturing is null ? [counting] : (Task[])[counting, capturing]).ConfigureAwait(false);
                before = await counting.ConfigureAwait(false);
                capture = capturing is null ? null : await capturing.ConfigureAwait(false);
            }
            catch
            {
                // Interrupted: one of the two may have finished; what it started goes now.
                if (capturing is { IsCompletedSuccessfully: true })
                    await capturing.Result.DiscardAsync().ConfigureAwait(false);
                throw;
            }
            var servers = new List<LabProcess>();
            try
            {
                foreach (Server server in plan.Servers)
                {
                    Host host = HostOf(server.Place);
                    log.WriteLine($"[{host.Role}] $ {server.Command}");
                    LabProcess process = host.Start(server.Command, new PrefixedWriter(log, $"[{host.Role}] "));
                    servers.Add(process);
                    string? notReady = await WaitReadyAsync(host, process, server, cancel).ConfigureAwait(false);
                    if (notReady is not null)
                        return Done(Status.Norun, $"{host.Role}: {notReady}");
                }

                Host client = HostOf(plan.Client);
                log.WriteLine($"[{client.Role}] $ {plan.ClientCommand}   (time limit {limit}s)");
                CommandResult run = await client.RunAsync(plan.ClientCommand, TimeSpan.FromSeconds(limit), new PrefixedWriter(log, $"[{client.Role}] "), cancel).ConfigureAwait(false);
                cancel.ThrowIfCancellationRequested();

                var outputs = new List<string>();
                for (int i = 0; i < servers.Count; i++)
                {
                    if (plan.Servers[i].EndsItself)
                        await servers[i].WaitAsync(TimeSpan.FromSeconds(5), cancel).ConfigureAwait(false);
                    if (!servers[i].HasExited)
                        await servers[i].StopAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
                    outputs.Add(servers[i].AllOutput);
                }

                Measurement? value = run.TimedOut ? null : plan.Value(run.Output, outputs);
                string Last(string output) => output.Trim().Split('\n').LastOrDefault()?.Trim() ?? "";
                if (run.TimedOut)
                    return Done(Status.Noterm, $"{client.Role}: did not terminate within {limit}s, aborted");
                if (run.NotFound)
                    return Done(Status.Norun, $"{client.Role}: could not be started: {Last(run.Output)}");
                if (run.ExitCode != 0)
                    return Done(Status.Noexit, $"{client.Role}: exit {run.ExitCode}: {Parsers.Iperf3Error(run.Output) ?? Last(run.Output)}", value);
                if (value is null)
                    return Done(Status.Fail, $"no value in the output of {client.Role}{(plan.Servers.Count > 0 ? " or its servers" : "")}");
                if (session.Gone is string died)
                    return Done(Status.Noexit, died, value);

                var problems = new List<string>();
                Task<IReadOnlyDictionary<string, long>?> counted = session.ErrorCountersAsync(cancel);
                Task<List<string>> judged = capture?.FinishAsync(session.Kind == SutKind.Dataplane, Tool(settings, "tshark"), log, cancel) ?? Task.FromResult(new List<string>());
                await Task.WhenAll(counted, judged).ConfigureAwait(false);
                IReadOnlyDictionary<string, long>? after = await counted.ConfigureAwait(false);
                if (session.Gone is string ended)
                    return Done(Status.Noexit, ended, value);
                // Counters that cannot be read judge nothing: that is a finding, not a pass.
                if (session.Kind != SutKind.Direct && (before is null || after is null))
                    problems.Add($"the error counters could not be read {(before is null ? "before" : "after")} the test");
                if (Moved(before, after, load: false) is string moved)
                    problems.Add($"error counters moved: {moved}");
                if (Moved(before, after, load: true) is string dropped)
                    log.WriteLine($"dropped for lack of room (a saturating test's expected loss, not an error): {dropped}");
                problems.AddRange(await judged.ConfigureAwait(false));
                if (problems.Count > 0)
                    return Done(Status.Xpass, string.Join("; ", problems), value);
                return Done(Status.Pass, value.Note, value);
            }
            finally
            {
                foreach (LabProcess p in servers)
                    await p.DisposeAsync().ConfigureAwait(false);
                // Captures left by an early end (NORUN, NOTERM...) are judged for malformed frames; those
                // left by an interrupt, here or while judging, are dropped unjudged: the run is being stopped.
                if (capture is not null)
                {
                    if (!cancel.IsCancellationRequested)
                    {
                        try
                        {
                            await capture.FinishAsync(false, Tool(settings, "tshark"), log, cancel).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException)
                        {
                            // interrupted while judging; the run's loop stops at the next test
                        }
                    }
                    await capture.DiscardAsync().ConfigureAwait(false);
                }
            }
        }
    }

    private static string Tool(RunSettings settings, string name) => settings.Tools.TryGetValue(name, out string? c) ? c : name;

    /// <summary>
    /// Waits until a server is ready; why not, or null when it is. The limit is a safety net for a
    /// server that will never be ready: over ssh on a busy machine, starting it and each check take
    /// seconds.
    /// </summary>
    private static async Task<string?> WaitReadyAsync(Host host, LabProcess process, Server server, CancellationToken cancel)
    {
        var limit = TimeSpan.FromSeconds(30);
        string Last() => process.AllOutput.Trim().Split('\n').LastOrDefault()?.Trim() ?? "";
        if (server.ReadyText is not null)
        {
            if (await process.WaitForOutputAsync(server.ReadyText, limit, cancel).ConfigureAwait(false))
                return null;
        }
        else
        {
            string[] port = server.ListenPort!.Split(':');
            string check = $"ss -Hln{(port[0] == "udp" ? "u" : "t")} 'sport = :{port[1]}' | grep -q .";
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < limit && !process.HasExited)
            {
                if ((await host.RunAsync(check, TimeSpan.FromSeconds(15), null, cancel).ConfigureAwait(false)).ExitCode == 0)
                    return null;
                await Task.Delay(100, cancel).ConfigureAwait(false);
            }
        }
        if (process.HasExited)
        {
            await process.WaitAsync(TimeSpan.FromSeconds(1), cancel).ConfigureAwait(false);
            return process.ExitCode is 127 or 126
                ? $"could not be started: {Last()}"
                : $"server exited {process.ExitCode} before it was ready: {Last()}";
        }
        return $"server not ready within {limit.TotalSeconds:0}s: {Last()}";
    }

    /// <summary>
    /// The counters that went up between <paramref name="before"/> and <paramref name="after"/>
    /// ("ip.bad_checksum +3, ..."), either the errors or (<paramref name="load"/>) the drops for lack
    /// of room; null when none did.
    /// </summary>
    internal static string? Moved(IReadOnlyDictionary<string, long>? before, IReadOnlyDictionary<string, long>? after, bool load = false)
    {
        if (before is null || after is null)
            return null;
        var moved = new List<string>();
        foreach ((string name, long value) in after)
        {
            if (IsLoadDrop(name) != load)
                continue;
            long was = before.TryGetValue(name, out long b) ? b : 0;
            if (value > was)
                moved.Add($"{name} +{value - was}");
        }
        return moved.Count > 0 ? string.Join(", ", moved) : null;
    }

    /// <summary>
    /// Drops for lack of room: full socket buffers, rings between workers, transmit queues. A test
    /// that sends as fast as it can (iperf3 -b 0, udpbench, ping -f) overruns the slowest of them by
    /// design, on Linux as on the dataplane; the value shows that loss. They go to the log, and
    /// only the other error counters (bad input, checksums, failed reassembly or resolution) make
    /// a test XPASS.
    /// </summary>
    internal static bool IsLoadDrop(string counter) =>
        counter.EndsWith(".hand_off_drops", StringComparison.Ordinal) || counter.EndsWith(".transmit_drops", StringComparison.Ordinal) ||
        counter.EndsWith(".tx_drops", StringComparison.Ordinal) || counter.EndsWith(".rx_drops", StringComparison.Ordinal) ||
        counter.EndsWith(".buffer_exhaustion", StringComparison.Ordinal) || counter is "udp.socket_full" ||
        counter.Contains("RcvbufErrors", StringComparison.Ordinal) || counter.Contains("SndbufErrors", StringComparison.Ordinal) ||
        counter is "UdpInErrors" or "Udp6InErrors" or "IpOutDiscards" or "Ip6OutDiscards";
}
