using System.Globalization;
using System.Text;

namespace Dataplane.Tests.Simulation;

/// <summary>
/// A deterministic simulation: stacks (<see cref="SimulatedNode"/>) joined by impaired links
/// (<see cref="LinkDirection"/>) on a virtual clock in nanoseconds, all of it on the test's thread.
/// The event loop takes the earliest of the pending events (a frame reaching a node, an action of
/// the test) and the nodes' next timers, moves the clock there, and gives that node a turn; ties go
/// to events in the order they were scheduled, then to timers in node order. Everything random is
/// drawn from streams of <see cref="Seed"/>, so one seed is one run, and <see cref="Trace"/> hashes
/// every event so two runs can be compared.
/// </summary>
/// <remarks>
/// Frames cross links as byte arrays, copied out of the sender's pool and into the receiver's, as a
/// wire would. A frame the link corrupted is checked at its receiver where the verdict is certain
/// (a flipped byte in an IPv4 header must be dropped as a bad header; one in the transport part of
/// an unfragmented datagram for the receiver must be dropped by its transport's checks): what
/// disagrees lands in <see cref="Violations"/>.
/// </remarks>
internal sealed class SimulatedNetwork
{
    /// <summary>Where the clock starts: far from 0, which the stack may read as "never".</summary>
    public const long Origin = 1_000_000_000_000;

    /// <summary>The default bound on events of one run: a run that takes more is a runaway.</summary>
    public const long DefaultMaxEvents = 2_000_000;

    private readonly PriorityQueue<Event, (long Time, long Order)> _events = new();
    private readonly List<SimulatedNode> _nodes = [];
    private readonly List<SimulatedLink> _links = [];
    private readonly Dictionary<(int Node, int Port), LinkDirection> _outgoing = [];
    private readonly List<string> _violations = [];
    private readonly HashSet<ulong> _corruptedDatagrams = [];
    private readonly long _maxEvents;
    private long _order;

    /// <summary>An empty simulation of <paramref name="seed"/>; a run of more than <paramref name="maxEvents"/> events fails.</summary>
    public SimulatedNetwork(int seed, long maxEvents = DefaultMaxEvents)
    {
        Seed = seed;
        _maxEvents = maxEvents;
    }

    /// <summary>The seed every random stream of the run comes from.</summary>
    public int Seed { get; }

    /// <summary>The virtual clock, in nanoseconds.</summary>
    public long Now { get; private set; } = Origin;

    /// <summary>Seconds since <see cref="Origin"/>, for messages.</summary>
    public double Seconds => (Now - Origin) / 1e9;

    /// <summary>The record of the run.</summary>
    public SimTrace Trace { get; } = new();

    /// <summary>Events run so far.</summary>
    public long Events { get; private set; }

    /// <summary>The nodes, by index.</summary>
    public IReadOnlyList<SimulatedNode> Nodes => _nodes;

    /// <summary>The links, in the order they were made.</summary>
    public IReadOnlyList<SimulatedLink> Links => _links;

    /// <summary>Corrupted frames whose verdict was certain, and checked.</summary>
    public long CorruptionsJudged { get; private set; }

    /// <summary>What the checks of corrupted frames found wrong, each with its time.</summary>
    public IReadOnlyList<string> Violations => _violations;

    /// <summary>Called with each frame as it reaches a node, before the node sees it (a tap on the receiver's port).</summary>
    public Action<SimulatedNode, int, byte[]>? Arrived { get; set; }

    /// <summary>
    /// Adds a node with one port per interface and default routes through <paramref name="gateway"/>;
    /// its stack's Random is seeded from the run's seed and the node's name.
    /// </summary>
    public SimulatedNode AddNode(string name, bool forwarding, NodeInterface[] interfaces, DefaultGateway? gateway = null, int poolBuffers = 1024)
    {
        int seed = (int)SimRandom.StreamSeed(Seed, "node " + name);
        var node = new SimulatedNode(this, _nodes.Count, name, interfaces, gateway, forwarding, poolBuffers, seed);
        Trace.Name(node.Index, name);
        _nodes.Add(node);
        return node;
    }

    /// <summary>Joins port <paramref name="portA"/> of <paramref name="a"/> to port <paramref name="portB"/> of <paramref name="b"/>.</summary>
    public SimulatedLink Connect(SimulatedNode a, int portA, SimulatedNode b, int portB, LinkModel ab, LinkModel ba)
    {
        var link = new SimulatedLink(this, _links.Count, a, portA, b, portB, ab, ba);
        Assert.True(_outgoing.TryAdd((a.Index, portA), link.Forward), $"{a}.{portA} is cabled already");
        Assert.True(_outgoing.TryAdd((b.Index, portB), link.Backward), $"{b}.{portB} is cabled already");
        _links.Add(link);
        return link;
    }

    /// <summary>Runs <paramref name="action"/> in a turn of <paramref name="node"/> at <paramref name="time"/> (the test's app code: sends, closes).</summary>
    public void At(long time, SimulatedNode node, Action action)
    {
        Assert.True(time >= Now, "an action in the past");
        _events.Enqueue(new Event(null, node, action), (time, _order++));
    }

    /// <summary>Puts <paramref name="frame"/> on the link of <paramref name="node"/>'s port <paramref name="port"/> now, as if the node sent it (a raw socket).</summary>
    public void Inject(SimulatedNode node, int port, byte[] frame) => Transmit(node, port, frame);

    /// <summary>Runs every event up to <paramref name="until"/>, then sets the clock there.</summary>
    public void Run(long until)
    {
        while (true)
        {
            long nextEvent = _events.TryPeek(out _, out (long Time, long Order) first) ? first.Time : long.MaxValue;
            SimulatedNode? timed = null;
            foreach (SimulatedNode node in _nodes)
            {
                if (node.NextTimer < (timed?.NextTimer ?? long.MaxValue))
                    timed = node;
            }
            long nextTimer = timed?.NextTimer ?? long.MaxValue;
            long next = Math.Min(nextEvent, nextTimer);
            if (next > until)
                break;
            if (++Events > _maxEvents)
                throw new InvalidOperationException($"seed {Seed}: more than {_maxEvents} events by {Seconds:F6} s: a runaway\n{Trace.Tail(Origin)}");
            Now = next;
            if (nextEvent <= nextTimer)
                RunEvent(_events.Dequeue());
            else
                RunTimers(timed!);
        }
        Now = Math.Max(Now, until);
    }

    /// <summary>Runs for <paramref name="nanoseconds"/> of virtual time.</summary>
    public void RunFor(long nanoseconds) => Run(Now + nanoseconds);

    /// <summary>Folds every node's counters into the trace and returns its hash: the fingerprint of the run.</summary>
    public ulong Fingerprint()
    {
        foreach (SimulatedNode node in _nodes)
            Trace.AddState(node.AllCounters());
        return Trace.Hash;
    }

    /// <summary>
    /// Checks what every run must end with, once the timers of reassembly (60 s at most) have run
    /// out: no node holds a buffer (in reassembly, waiting for a neighbour, or lost track of), a
    /// datagram in reassembly, or a timer but the neighbour sweep, the one that never stops.
    /// </summary>
    public void AssertDrained()
    {
        foreach (SimulatedNode node in _nodes)
        {
            Assert.True(node.Worker.Reassembly.Datagrams == 0, $"{node} still reassembles {node.Worker.Reassembly.Datagrams} datagrams");
            Assert.True(node.BuffersOutstanding == 0, $"{node} holds {node.BuffersOutstanding} buffers after the run drained");
            Assert.True(node.Context.Timers.Count == 1, $"{node} has {node.Context.Timers.Count} timers pending after the run drained, not just the neighbour sweep");
        }
    }

    /// <summary>The seed, the links and what they did, and the end of the trace: what a failure message needs.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"seed {Seed}, at {Seconds:F6} s after {Events} events, trace hash {Trace.Hash:x16}");
        foreach (SimulatedLink link in _links)
        {
            foreach (LinkDirection d in (LinkDirection[])[link.Forward, link.Backward])
            {
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"  {d.From}.{d.FromPort} -> {d.To}.{d.ToPort}: {d.Model}; sent {d.Sent} queue-dropped {d.QueueDrops} lost {d.Lost} corrupted {d.Corrupted} duplicated {d.Duplicated} reordered {d.Reordered}");
            }
        }
        foreach (SimulatedNode node in _nodes)
            text.AppendLine(CultureInfo.InvariantCulture, $"  {node}: buffers held {node.BuffersOutstanding}, reassembly {node.Worker.Reassembly.Datagrams}, rx no buffer {node.ReceiveNoBuffer}");
        foreach (string violation in _violations.Take(10))
            text.AppendLine("  violation: " + violation);
        text.AppendLine("last events:");
        text.Append(Trace.Tail(Origin));
        return text.ToString();
    }

    /// <summary>A frame <paramref name="node"/> sent on <paramref name="port"/>: onto its link, if it has one.</summary>
    internal void Transmit(SimulatedNode node, int port, byte[] frame)
    {
        if (_outgoing.TryGetValue((node.Index, port), out LinkDirection? link))
            link.Send(Now, frame);
        else
            Trace.Add(Now, TraceKind.Unconnected, node.Index, port, frame.Length, SimTrace.HashOf(frame));
    }

    /// <summary>
    /// Whether a link may flip a byte of <paramref name="frame"/>: not when a frame of the same IP
    /// datagram was corrupted already, on this link or another. Two flips in one datagram can cancel
    /// out in its ones' complement checksum (+d in one word, -d in another), so that a stack would
    /// rightly take corrupted data; on a real link the Ethernet CRC makes that pair as good as
    /// impossible, and here the Internet checksum is the only judge. Nor an ARP frame: ARP has no
    /// checksum, and a flipped byte of a sender's MAC address teaches a wrong address, which no real
    /// wire with its CRC teaches, and which costs a host its neighbour for as long as neighbour
    /// unreachability detection takes (tens of seconds, longer than TCP's SYN retries: the TCP
    /// simulation found it).
    /// </summary>
    internal bool MayCorrupt(byte[] frame)
    {
        if (frame.Length >= 14 && frame[12] == 0x08 && frame[13] == 0x06)
            return false;
        ulong datagram = CorruptionCheck.DatagramOf(frame);
        return datagram == 0 || _corruptedDatagrams.Add(datagram);
    }

    /// <summary>Schedules <paramref name="delivery"/> to reach its receiver at <paramref name="time"/>.</summary>
    internal void Schedule(long time, Delivery delivery) => _events.Enqueue(new Event(delivery, null, null), (time, _order++));

    private void RunEvent(Event e)
    {
        if (e.Delivery is { } d)
        {
            SimulatedNode node = d.Link.To;
            Trace.Add(Now, TraceKind.Arrived, node.Index, d.Link.ToPort, d.Frame.Length, SimTrace.HashOf(d.Frame));
            Arrived?.Invoke(node, d.Link.ToPort, d.Frame);
            node.BeginTurn(Now);
            Deliver(node, d);
            End(node);
            return;
        }
        e.Node!.BeginTurn(Now);
        Trace.Add(Now, TraceKind.Action, e.Node.Index, 0, 0);
        e.Action!();
        End(e.Node);
    }

    private void RunTimers(SimulatedNode node)
    {
        node.BeginTurn(Now);
        End(node);
    }

    private void End(SimulatedNode node)
    {
        int fired = node.EndTurn();
        if (fired > 0)
            Trace.Add(Now, TraceKind.Timers, node.Index, 0, fired);
    }

    private void Deliver(SimulatedNode node, Delivery d)
    {
        CorruptionCheck.Expectation expect = d.Original is null ? default : CorruptionCheck.Expect(node, d.Link.ToPort, d.Original, d.Frame, d.CorruptAt);
        long before = expect.Counters.IsDefault ? 0 : node.Sum(expect.Counters.AsSpan());
        if (!node.Receive(d.Link.ToPort, d.Frame))
        {
            Trace.Add(Now, TraceKind.NoBuffer, node.Index, d.Link.ToPort, d.Frame.Length);
            return;
        }
        if (expect.Counters.IsDefault)
            return;
        CorruptionsJudged++;
        if (node.Sum(expect.Counters.AsSpan()) != before + 1)
        {
            _violations.Add(string.Create(CultureInfo.InvariantCulture,
                $"{Seconds:F6} s: {node}.{d.Link.ToPort} took a frame corrupted at byte {d.CorruptAt} ({expect.Where}) without counting it as {expect.What}: {Convert.ToHexString(d.Frame.AsSpan(0, Math.Min(d.Frame.Length, 80)))}"));
        }
    }

    private readonly record struct Event(Delivery? Delivery, SimulatedNode? Node, Action? Action);
}
