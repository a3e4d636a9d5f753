namespace Dataplane.Tests.Simulation;

/// <summary>A cable between two ports of two nodes: one <see cref="LinkDirection"/> each way.</summary>
internal sealed class SimulatedLink
{
    internal SimulatedLink(SimulatedNetwork network, int id, SimulatedNode a, int portA, SimulatedNode b, int portB, LinkModel ab, LinkModel ba)
    {
        Forward = new LinkDirection(network, $"link {id} forward", a, portA, b, portB, ab);
        Backward = new LinkDirection(network, $"link {id} backward", b, portB, a, portA, ba);
    }

    /// <summary>From the first node named to the second.</summary>
    public LinkDirection Forward { get; }

    /// <summary>From the second node named to the first.</summary>
    public LinkDirection Backward { get; }
}

/// <summary>
/// One direction of a link: the queue and the wire, which delay, limit, lose, duplicate, corrupt
/// and reorder what they carry as <see cref="Model"/> says, with a random stream of their own.
/// </summary>
internal sealed class LinkDirection
{
    // Bytes a frame takes on an Ethernet wire beside its own: preamble and start delimiter (8), FCS
    // (4) and the inter-frame gap (12).
    private const int WireOverhead = 24;

    private readonly SimulatedNetwork _network;
    private readonly SimRandom _random;
    private readonly Queue<long> _leaving = new(); // when each frame in the queue has left: the last is when the wire is free
    private long _wireFree;

    internal LinkDirection(SimulatedNetwork network, string stream, SimulatedNode from, int fromPort, SimulatedNode to, int toPort, LinkModel model)
    {
        _network = network;
        _random = SimRandom.Stream(network.Seed, stream);
        From = from;
        FromPort = fromPort;
        To = to;
        ToPort = toPort;
        Model = model;
    }

    /// <summary>The sending node.</summary>
    public SimulatedNode From { get; }

    /// <summary>The sender's port.</summary>
    public int FromPort { get; }

    /// <summary>The receiving node.</summary>
    public SimulatedNode To { get; }

    /// <summary>The receiver's port.</summary>
    public int ToPort { get; }

    /// <summary>What this direction does to frames.</summary>
    public LinkModel Model { get; }

    /// <summary>Frames put on the link.</summary>
    public long Sent { get; private set; }

    /// <summary>Frames dropped because the queue was full.</summary>
    public long QueueDrops { get; private set; }

    /// <summary>Frames the wire lost.</summary>
    public long Lost { get; private set; }

    /// <summary>Frames the link flipped a byte of (a duplicate of one arrives flipped too).</summary>
    public long Corrupted { get; private set; }

    /// <summary>Frames delivered twice.</summary>
    public long Duplicated { get; private set; }

    /// <summary>Frames held back so that later ones may pass them.</summary>
    public long Reordered { get; private set; }

    /// <summary>Takes <paramref name="frame"/> from <see cref="From"/> at <paramref name="now"/>, and schedules what reaches <see cref="To"/>.</summary>
    internal void Send(long now, byte[] frame)
    {
        Sent++;
        ulong hash = SimTrace.HashOf(frame);
        _network.Trace.Add(now, TraceKind.Sent, From.Index, FromPort, frame.Length, hash);
        long left = now;
        if (Model.RateBitsPerSecond > 0)
        {
            while (_leaving.Count > 0 && _leaving.Peek() <= now)
                _leaving.Dequeue();
            if (_leaving.Count >= Model.QueueFrames)
            {
                QueueDrops++;
                _network.Trace.Add(now, TraceKind.QueueDrop, From.Index, FromPort, _leaving.Count, hash);
                return;
            }
            left = Math.Max(now, _wireFree) + (frame.Length + WireOverhead) * 8L * 1_000_000_000 / Model.RateBitsPerSecond;
            _wireFree = left;
            _leaving.Enqueue(left);
        }
        if (_random.Chance(Model.Loss))
        {
            Lost++;
            _network.Trace.Add(now, TraceKind.Lost, From.Index, FromPort, 0, hash);
            return;
        }
        byte[] carried = frame;
        int corruptAt = -1;
        if (_random.Chance(Model.Corrupt) && _network.MayCorrupt(frame))
        {
            corruptAt = _random.Next(frame.Length);
            carried = (byte[])frame.Clone();
            carried[corruptAt] ^= (byte)_random.Between(1, 255);
            Corrupted++;
            _network.Trace.Add(now, TraceKind.Corrupted, From.Index, FromPort, corruptAt, hash);
        }
        long arrival = left + Model.Delay;
        if (_random.Chance(Model.Reorder))
        {
            arrival += 1 + _random.NextLong(Model.ReorderDelay);
            Reordered++;
            _network.Trace.Add(now, TraceKind.Reordered, From.Index, FromPort, arrival - now, hash);
        }
        var delivery = new Delivery(this, carried, corruptAt < 0 ? null : frame, corruptAt);
        _network.Schedule(arrival, delivery);
        if (_random.Chance(Model.Duplicate))
        {
            Duplicated++;
            long again = arrival + 1 + _random.NextLong(Model.ReorderDelay);
            _network.Trace.Add(now, TraceKind.Duplicated, From.Index, FromPort, again - now, hash);
            _network.Schedule(again, delivery);
        }
    }
}

/// <summary>
/// A frame on its way to <see cref="LinkDirection.To"/>; when the link corrupted it, the frame as it
/// was sent and where the flipped byte is, so that the receiver's verdict can be checked.
/// </summary>
internal sealed record Delivery(LinkDirection Link, byte[] Frame, byte[]? Original, int CorruptAt);
