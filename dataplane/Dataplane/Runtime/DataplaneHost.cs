using System.Collections.Immutable;
using System.Runtime.InteropServices;
using Dataplane.Buffers;
using Dataplane.Config;
using Dataplane.Control;
using Dataplane.Engine;
using Dataplane.Ports;
using Dataplane.Stack;

namespace Dataplane.Runtime;

/// <summary>
/// <c>dataplane run</c>: opens the ports of a config, runs the workers on the cores of
/// <c>set cores</c> until SIGINT or SIGTERM, then gives the ports back and prints the counters.
/// </summary>
internal sealed class DataplaneHost
{
    /// <summary>Buffers in the pool: enough for every ring of every queue plus bursts in flight.</summary>
    public const int PoolBuffers = 32 * 1024;

    private readonly DataplaneConfig _config;
    private readonly TextWriter _stdout;
    private readonly TextWriter _stderr;
    private readonly string? _controlSocket;

    /// <summary>
    /// A host for <paramref name="config"/>, reporting to the writers and serving 'dataplane ctl' on
    /// <paramref name="controlSocket"/> (none when null).
    /// </summary>
    public DataplaneHost(DataplaneConfig config, TextWriter stdout, TextWriter stderr, string? controlSocket = null)
    {
        _config = config;
        _stdout = stdout;
        _stderr = stderr;
        _controlSocket = controlSocket;
    }

    /// <summary>
    /// How often the control thread looks at the ports' links and devices: a link change is in the
    /// log and ifconfig within this. A look costs a few register reads a port (a VM exit each under
    /// QEMU), so ten a second cost nothing the workers see.
    /// </summary>
    internal static TimeSpan WatchInterval { get; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long a <c>ctl capture</c> waits for its COUNT frames (tests shorten it).</summary>
    internal TimeSpan CaptureTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The packet memory of the running host, for tests (null until <see cref="Run"/> opened the ports).</summary>
    internal BufferPool? Pool { get; private set; }

    /// <summary>The opened ports of the running host, for tests (a test may feed a memory port's receive ring).</summary>
    internal IReadOnlyList<IPort>? Ports { get; private set; }

    /// <summary>The workers' contexts, once the control socket serves (tests look at what they count).</summary>
    internal IReadOnlyList<WorkerContext>? Workers { get; private set; }

    /// <summary>The watch over the running host's links and devices, for tests (null until <see cref="Run"/> opened the ports).</summary>
    internal PortWatch? Watch { get; private set; }

    /// <summary>The network stack of the running host, for tests (null until <see cref="Run"/> opened the ports).</summary>
    internal NetworkStack? Stack { get; private set; }

    /// <summary>What the config asks for that this build does not run yet: said once at start, so nothing is silently ignored.</summary>
    private static IEnumerable<string> NotYetRunning(DataplaneConfig config)
    {
        foreach (VlanConfig vlan in config.Vlans)
            yield return $"vlan {vlan.Name} (line {vlan.Line}): vlan interfaces are not available yet; its addresses are not configured";
        foreach (AppConfig app in config.Apps)
        {
            if (app.Transport == AppTransport.Tcp && app.Kind != AppKind.Iperf3 && TcpApps.Create(app) is null)
                yield return $"app {AppConfig.KindKeywords[(int)app.Kind]} tcp (line {app.Line}): not available yet; the app does not run";
        }
    }

    /// <summary>Runs until <paramref name="stop"/> is cancelled or a signal arrives; returns the exit code.</summary>
    public int Run(CancellationToken stop)
    {
        int[] allowed = Native.CurrentThread.GetAffinity();
        foreach (int core in _config.Cores)
        {
            if (Array.IndexOf(allowed, core) < 0)
            {
                _stderr.WriteLine($"dataplane: set cores: cpu {core} is not available to this process (it may use {string.Join(',', allowed)})");
                return 1;
            }
        }

        var ports = new List<PortBinding>();
        try
        {
            // Every port first: if one cannot be opened, nothing starts.
            foreach (PortConfig port in _config.Ports)
                ports.Add(PortFactory.Open(port, ports.Count, _config, message => _stderr.WriteLine($"dataplane: {message}")));
        }
        catch (Exception e) when (e is PortOpenException or Native.NativeException or IOException or UnauthorizedAccessException)
        {
            _stderr.WriteLine($"dataplane: {e.Message}");
            foreach (PortBinding opened in ports)
                opened.Port.Dispose();
            return 1;
        }

        int[] cores = [.. _config.Cores];
        var pool = new BufferPool(PoolBuffers, hugePages: true);
        NetworkStack stack = StackBuilder.Build(_config, ports, message => _stderr.WriteLine($"dataplane: {message}"));
        Stack = stack;
        var stackWorkers = new StackWorker[cores.Length];
        var appErrors = new List<string>();
        var iperf3Servers = new Dictionary<AppConfig, Stack.Apps.Iperf3.Iperf3Server>(ReferenceEqualityComparer.Instance);
        PacketEngine<StackProcessor> built;
        try
        {
            built = new PacketEngine<StackProcessor>(pool, cores, ports, (WorkerContext context) =>
            {
                var worker = new StackWorker(stack, context);
                stackWorkers[context.Index] = worker;
                UdpApps.Start(worker, _config, appErrors); // every UDP app on every worker, before traffic flows
                TcpApps.Start(worker, _config, appErrors, iperf3Servers); // and every TCP app: a listener on each worker
                return new StackProcessor(worker);
            });
        }
        catch (Native.NativeException e)
        {
            // A driver refused its queues to the engine (vfio: the pool could not be mapped for
            // DMA): said as such, and every port given back (a VFIO device reset) before the exit.
            _stderr.WriteLine($"dataplane: {e.Message}");
            foreach (PortBinding port in ports)
                port.Port.Dispose();
            return 1;
        }
        using PacketEngine<StackProcessor> engine = built;
        if (appErrors.Count > 0)
        {
            foreach (string error in appErrors)
                _stderr.WriteLine($"dataplane: {error}");
            foreach (PortBinding port in ports)
                port.Port.Dispose();
            return 1;
        }
        foreach (string warning in NotYetRunning(_config))
            _stderr.WriteLine($"dataplane: {warning}");

        using var stopped = CancellationTokenSource.CreateLinkedTokenSource(stop);
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
        void Cancel(PosixSignalContext context)
        {
            context.Cancel = true; // we stop ourselves, cleanly
            stopped.Cancel();
        }

        // What ctl reports, and what the counters printed at the stop are summed from.
        var workers = engine.Workers.Select(w => new WorkerView(w.Context.Index, cores[w.Context.Index], w.Context.Counters, w.Context.Cache)).ToArray();
        // The control thread looks at every port's link and device (a few register reads) each tick.
        IPort[] running = [.. ports.Select(p => p.Port)];
        var watch = new PortWatch(running, message =>
        {
            _stderr.WriteLine($"dataplane: {message}");
            _stderr.Flush();
        });
        Watch = watch;
        var view = new DataplaneView(running, workers, stack, [.. stackWorkers.Select(w => w.Counters)]) { Watch = watch };
        ControlServer? control = null;
        if (_controlSocket is not null)
        {
            var capture = new CaptureService(pool, view.Ports, engine.CaptureSlots, [.. engine.Workers.Select(w => w.Context)], stopped.Token) { Timeout = CaptureTimeout };
            Pool = pool;
            Ports = view.Ports;
            Workers = [.. engine.Workers.Select(w => w.Context)];
            try
            {
                // ctl iperf3 hands its test to worker 0 through the worker's mailbox.
                var iperf3 = new Iperf3Command(stackWorkers, [.. engine.Workers.Select(w => w.Context.Mailbox!)]);
                control = ControlServer.Start(_controlSocket, request => ControlCommands.Execute(request, view, capture, iperf3));
            }
            catch (ControlSocketException e)
            {
                _stderr.WriteLine($"dataplane: {e.Message}");
                foreach (PortBinding port in ports)
                    port.Port.Dispose();
                return 1;
            }
        }

        engine.Start();
        _stdout.WriteLine($"dataplane: running: {ports.Count} ports, {cores.Length} workers on cpus {string.Join(',', cores)}; SIGINT or SIGTERM stops");
        _stdout.Flush();
        // Wait for the stop, looking at the ports' links and devices every WatchInterval, and say
        // once when a worker gives up on a failing queue: the other ports keep running.
        var reported = new HashSet<(string, int)>();
        watch.Check();
        while (!stopped.Token.WaitHandle.WaitOne(WatchInterval))
        {
            watch.Check();
            foreach ((IPort port, int queue) in engine.FailedQueues)
            {
                if (reported.Add((port.Name, queue)))
                    _stderr.WriteLine($"dataplane: port {port.Name} queue {queue} failed ({port.Counters(queue).Errors} errors): no longer polled; the other ports keep running");
            }
        }
        control?.Dispose();
        engine.Stop();
        foreach (PortBinding port in ports)
            port.Port.Dispose();
        PrintCounters(view);
        return 0;
    }

    private void PrintCounters(DataplaneView view)
    {
        _stdout.WriteLine("dataplane: stopped; counters:");
        for (int p = 0; p < view.Ports.Count; p++)
        {
            IPort port = view.Ports[p];
            for (int q = 0; q < port.QueueCount; q++)
            {
                QueueCounters c = port.Counters(q);
                _stdout.WriteLine($"  {port.Name} queue {q}: rx {c.ReceivedPackets} packets {c.ReceivedBytes} bytes, tx {c.TransmittedPackets} packets {c.TransmittedBytes} bytes, rx drops {c.ReceiveDrops}, errors {c.Errors}");
            }
        }
        foreach (CounterGroup group in CounterNames.Groups)
        {
            // The protocol counters that moved, in netstat's words.
            ImmutableArray<string> texts = CounterNames.Texts(group);
            for (int c = 0; c < texts.Length; c++)
            {
                long n = view.Sum(group, c);
                if (n != 0)
                    _stdout.WriteLine($"  {CounterNames.Heading(group)}: {n} {texts[c]}");
            }
        }
        foreach (WorkerView worker in view.Workers)
        {
            WorkerCounters c = worker.Counters;
            _stdout.WriteLine($"  worker {worker.Index}: received {c.Received}, processed {c.Processed}, handed off {c.HandedOff}, handed in {c.HandedIn}, hand-off drops {c.HandOffDrops}, buffer exhaustion {worker.Cache.Exhausted}");
        }
        _stdout.Flush();
    }
}
