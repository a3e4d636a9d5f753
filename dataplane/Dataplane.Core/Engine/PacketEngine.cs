using System.Runtime.CompilerServices;
using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Engine;

/// <summary>
/// A port as the engine drives it: its control side, and a way to get the data path of queue i
/// given the buffer cache of the worker that will own it (drivers fill received frames from it).
/// </summary>
internal sealed record PortBinding(IPort Port, Func<int, BufferCache, QueuePoller> Queue)
{
    /// <summary>
    /// The port's lro switch (<c>set lro</c> and its per-port override): on, received TCP segments
    /// are merged in software where the port does not merge them itself (<see cref="PortCapabilities.Lro"/>).
    /// Off unless the config turns it on.
    /// </summary>
    public bool Lro { get; init; }
}

/// <summary>
/// The workers of one dataplane: one per core named by <c>set cores</c>, each pinned to its core,
/// each owning queue i of every port, its buffer cache and timer wheel, joined to the others by
/// single-producer/single-consumer rings for packets that arrive on the wrong core.
/// </summary>
internal sealed class PacketEngine<TProcessor> : IDisposable where TProcessor : struct, IPacketProcessor
{
    private readonly StrongBox<bool> _stop = new(false);
    private readonly Worker<TProcessor>[] _workers;
    private readonly IReadOnlyList<int> _cores;
    private readonly IReadOnlyList<PortBinding> _ports;
    private Thread[] _threads = [];

    /// <summary>Builds the workers, each processor made from what its worker owns; nothing runs until <see cref="Start"/>.</summary>
    public PacketEngine(BufferPool pool, IReadOnlyList<int> cores, IReadOnlyList<PortBinding> ports, Func<WorkerContext, TProcessor> processor, int handOffRingSize = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfZero(cores.Count);
        _cores = cores;
        _ports = ports;
        int count = cores.Count;
        var owners = new RssIndirectionTable(count);
        var flowHash = ToeplitzHash.CreateSymmetric();
        // A device that places flows by RSS is told the engine's key and owners, so that it puts
        // each flow on its owner's queue (and its hash, where it reports one, is the engine's).
        foreach (PortBinding binding in ports)
        {
            if (binding.Port is IFlowSteering steering)
                steering.SteerFlows(flowHash.Key, owners);
        }
        _workers = new Worker<TProcessor>[count];
        CaptureSlots = new CaptureTap?[ports.Count];
        for (int w = 0; w < count; w++)
        {
            var cache = new BufferCache(pool);
            var pollers = new QueuePoller?[ports.Count];
            var receive = new List<QueuePoller>();
            for (int p = 0; p < ports.Count; p++)
            {
                // Queue w is this worker's: it receives there and sends there. A port with fewer queues
                // than workers is served by the first ones; one with more has its queues w + count,
                // w + 2 count, ... received here too (sent on through queue w), so that no queue goes
                // unread: the kernel or device may put flows on every queue it has.
                for (int q = w; q < ports[p].Port.QueueCount; q += count)
                {
                    QueuePoller poller = ports[p].Queue(q, cache);
                    poller.Port = p;
                    poller.Counters = ports[p].Port.Counters(q);
                    poller.SoftLro = ports[p].Lro && (ports[p].Port.Capabilities & PortCapabilities.Lro) == 0;
                    if (q == w)
                        pollers[p] = poller;
                    receive.Add(poller);
                }
            }
            var timers = new TimerWheel(EngineClock.Nanoseconds());
            var context = new WorkerContext(w, pool, cache, timers, pollers, CaptureSlots) { FlowHash = flowHash, FlowOwners = owners };
            // The symmetric key, so that both directions of a flow land on the same worker.
            _workers[w] = new Worker<TProcessor>(context, [.. receive], owners, flowHash, processor(context));
        }
        // rings[from, to] carries packets of worker to's flows that arrived at worker from.
        var rings = new SpscRing<PacketBuffer>?[count, count];
        for (int from = 0; from < count; from++)
        {
            for (int to = 0; to < count; to++)
            {
                if (from != to)
                    rings[from, to] = new SpscRing<PacketBuffer>(handOffRingSize);
            }
        }
        for (int w = 0; w < count; w++)
        {
            var inbound = new SpscRing<PacketBuffer>?[count];
            var outbound = new SpscRing<PacketBuffer>?[count];
            for (int other = 0; other < count; other++)
            {
                inbound[other] = rings[other, w];
                outbound[other] = rings[w, other];
            }
            _workers[w].Connect(_workers, inbound, outbound);
        }
    }

    /// <summary>The armed capture of each port, by port index (null when none); shared with every worker.</summary>
    internal CaptureTap?[] CaptureSlots { get; }

    /// <summary>The queues whose workers gave up on them, by port and queue.</summary>
    public IEnumerable<(IPort Port, int Queue)> FailedQueues
    {
        get
        {
            foreach (Worker<TProcessor> worker in _workers)
            {
                foreach (QueuePoller queue in worker.Queues)
                {
                    if (queue.Failed)
                        yield return (_ports[queue.Port].Port, worker.Context.Index);
                }
            }
        }
    }

    /// <summary>The workers, in core order.</summary>
    public IReadOnlyList<Worker<TProcessor>> Workers => _workers;

    /// <summary>Whether worker threads pin themselves to their cores (tests on a busy machine may not want it).</summary>
    public bool PinThreads { get; init; } = true;

    /// <summary>Starts the ports and one thread per worker.</summary>
    public void Start()
    {
        foreach (PortBinding port in _ports)
            port.Port.Start();
        _stop.Value = false;
        _threads = new Thread[_workers.Length];
        for (int w = 0; w < _workers.Length; w++)
        {
            Worker<TProcessor> worker = _workers[w];
            int core = _cores[w];
            _threads[w] = new Thread(() => RunWorker(worker, core))
            {
                IsBackground = true,
                Name = $"dataplane worker {w} (cpu {core})",
            };
            _threads[w].Start();
        }
    }

    private void RunWorker(Worker<TProcessor> worker, int core)
    {
        if (PinThreads)
            CurrentThread.PinToCpu(core);
        using Epoll sleep = Epoll.Create();
        sleep.Add(worker.Wakeup.Descriptor, EpollEvents.In, 0);
        foreach (QueuePoller queue in worker.Queues)
        {
            if (queue.ReadinessDescriptor is { } descriptor)
                sleep.Add(descriptor, EpollEvents.In, 1);
        }
        worker.Run(_stop, sleep);
        worker.Context.FlushAll();
    }

    /// <summary>Stops the workers, waits for them, and stops the ports.</summary>
    public void Stop()
    {
        Volatile.Write(ref _stop.Value, true);
        foreach (Worker<TProcessor> worker in _workers)
            worker.Wakeup.Signal();
        foreach (Thread thread in _threads)
            thread.Join();
        _threads = [];
        foreach (PortBinding port in _ports)
            port.Port.Stop(); // drivers give buffers they hold back to their worker's cache
        // The worker threads are gone, so their caches can be emptied from here.
        foreach (Worker<TProcessor> worker in _workers)
            worker.Context.Cache.Flush();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_threads.Length > 0)
            Stop();
        foreach (Worker<TProcessor> worker in _workers)
            worker.Wakeup.Dispose();
    }
}
