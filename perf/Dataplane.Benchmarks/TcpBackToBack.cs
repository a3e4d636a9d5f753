using Dataplane.Buffers;
using Dataplane.Drivers.Memory;
using Dataplane.Engine;
using Dataplane.Stack;
using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;

namespace Dataplane.Benchmarks;

/// <summary>
/// Two whole stacks, each a <see cref="PacketEngine{TProcessor}"/> of one worker, cabled back to
/// back by a memory pair: what the client's port sends the server's receives and the other way.
/// Unlike the simulation's nodes, frames cross as buffer handles (one shared pool, as a NIC pair
/// in one process would), and each worker turn is the engine's own <c>RunOnce</c> on the engine
/// clock: receive burst, stack, timers, flush. The caller decides which thread turns which worker
/// (<see cref="Turn"/> turns both on one). The client is 10.77.0.1, the server 10.77.0.2, on a
/// 1500-byte MTU; each knows the other's MAC address from the start. The memory port offers no
/// transmit offload: every TCP checksum is computed in software.
/// </summary>
internal sealed class TcpBackToBack
{
    /// <summary>The client's address.</summary>
    public static readonly Ipv4Address ClientAddress = new(10, 77, 0, 1);

    /// <summary>The server's address.</summary>
    public static readonly Ipv4Address ServerAddress = new(10, 77, 0, 2);

    private readonly MemoryPort _clientPort;
    private readonly MemoryPort _serverPort;

    /// <summary>The two stacks; <paramref name="connections"/> and <paramref name="buffer"/> are <c>set tcp connections</c> and <c>set tcp buffer</c>.</summary>
    public TcpBackToBack(int poolBuffers, int connections = TcpSocketTable.DefaultConnections, int buffer = TcpSocketTable.DefaultBuffer, int ringSize = 4096)
    {
        Pool = new BufferPool(poolBuffers);
        (_clientPort, _serverPort) = MemoryPort.CreatePair("client", "server", queues: 1, ringSize: ringSize);
        (ClientStack, ClientEngine, Client) = Build(Pool, _clientPort, ClientAddress, connections, buffer);
        (ServerStack, ServerEngine, Server) = Build(Pool, _serverPort, ServerAddress, connections, buffer);
        _clientPort.Start();
        _serverPort.Start();
        ConfirmNeighbours();
    }

    /// <summary>The packet memory both stacks share.</summary>
    public BufferPool Pool { get; }

    /// <summary>The client's shared half (interfaces, routes, neighbours).</summary>
    public NetworkStack ClientStack { get; }

    /// <summary>The server's shared half.</summary>
    public NetworkStack ServerStack { get; }

    /// <summary>The client's engine, one worker.</summary>
    public PacketEngine<StackProcessor> ClientEngine { get; }

    /// <summary>The server's engine, one worker.</summary>
    public PacketEngine<StackProcessor> ServerEngine { get; }

    /// <summary>The client's worker.</summary>
    public StackWorker Client { get; }

    /// <summary>The server's worker.</summary>
    public StackWorker Server { get; }

    /// <summary>The client's worker loop.</summary>
    public Worker<StackProcessor> ClientLoop => ClientEngine.Workers[0];

    /// <summary>The server's worker loop.</summary>
    public Worker<StackProcessor> ServerLoop => ServerEngine.Workers[0];

    /// <summary>One turn of each worker loop, on the calling thread; returns the packets they moved.</summary>
    public int Turn() => ClientLoop.RunOnce() + ServerLoop.RunOnce();

    /// <summary>Packet buffers neither in the shared pool nor in a worker's cache: in rings, or held by the stacks.</summary>
    public int BuffersOutstanding => Pool.Count - Pool.Shared.Count - ClientLoop.Context.Cache.Count - ServerLoop.Context.Cache.Count;

    /// <summary>Drops anywhere in the two engines (receive, transmit, hand-off).</summary>
    public long EngineDrops
    {
        get
        {
            long drops = 0;
            foreach (WorkerContext c in (ReadOnlySpan<WorkerContext>)[ClientLoop.Context, ServerLoop.Context])
                drops += c.Counters.Dropped + c.Counters.TransmitDrops + c.Counters.HandOffDrops;
            return drops;
        }
    }

    /// <summary>Keeps each side's neighbour entry for the other reachable (they go stale after 30 s and would be asked about again).</summary>
    public void ConfirmNeighbours()
    {
        long now = EngineClock.Nanoseconds();
        ClientStack.Arp[0].GetOrAdd(ServerAddress)!.Confirm(_serverPort.Mac, now);
        ServerStack.Arp[0].GetOrAdd(ClientAddress)!.Confirm(_clientPort.Mac, now);
    }

    /// <summary>Turns both workers on this thread until <paramref name="done"/> holds or <paramref name="seconds"/> pass; throws on the timeout.</summary>
    public void TurnUntil(Func<bool> done, double seconds, string what)
    {
        long until = EngineClock.Nanoseconds() + (long)(seconds * 1e9);
        while (!done())
        {
            Turn();
            if (EngineClock.Nanoseconds() > until)
                throw new InvalidOperationException($"{what}: not done after {seconds} s");
        }
    }

    /// <summary>The server's endpoint on <paramref name="port"/>.</summary>
    public static InetEndpoint ServerEndpoint(ushort port) => InetEndpoint.Ipv4(ServerAddress, port);

    private static (NetworkStack, PacketEngine<StackProcessor>, StackWorker) Build(BufferPool pool, MemoryPort port, Ipv4Address address, int connections, int buffer)
    {
        var net = new NetInterface(0, port.Name, port.Mac, 1500, port.Capabilities, [new(address, 24)], []);
        var stack = new NetworkStack([net], forwarding: false) { TcpConnections = connections, TcpBuffer = buffer };
        StackWorker? worker = null;
        var engine = new PacketEngine<StackProcessor>(
            pool,
            [0],
            [new PortBinding(port, (q, _) => new MemoryQueuePath(port.Queue(q)))],
            context =>
            {
                worker = new StackWorker(stack, context);
                return new StackProcessor(worker);
            });
        return (stack, engine, worker!);
    }
}
