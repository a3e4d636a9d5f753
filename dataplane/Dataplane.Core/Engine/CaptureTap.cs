using Dataplane.Buffers;

namespace Dataplane.Engine;

/// <summary>One captured frame on its way to the capture writer: the buffer (with a reference of its own), when, and which way.</summary>
internal readonly record struct CapturedPacket(PacketBuffer Buffer, long Timestamp, bool Outbound);

/// <summary>
/// An armed capture of one port: one single-producer/single-consumer ring per worker (the worker
/// produces, the capture writer consumes) and a drop count per worker. Workers find it in their
/// port's slot of <see cref="WorkerContext.CaptureSlots"/>, which is null while nobody captures,
/// so an idle port costs one read per packet.
/// </summary>
internal sealed class CaptureTap
{
    /// <summary>A tap of port <paramref name="port"/> for <paramref name="workers"/> workers, <paramref name="ringSize"/> frames in flight each.</summary>
    public CaptureTap(int port, int workers, int ringSize = 1024)
    {
        Port = port;
        Rings = new SpscRing<CapturedPacket>[workers];
        for (int w = 0; w < workers; w++)
            Rings[w] = new SpscRing<CapturedPacket>(ringSize);
        // One counter per cache line (8 longs apart), so the workers do not share lines.
        _drops = new long[workers * 8];
    }

    private readonly long[] _drops;

    /// <summary>The port's index in the engine.</summary>
    public int Port { get; }

    /// <summary>The ring of each worker, by worker index.</summary>
    public SpscRing<CapturedPacket>[] Rings { get; }

    /// <summary>Copies dropped because a ring was full, summed over the workers (a snapshot).</summary>
    public long Drops
    {
        get
        {
            long sum = 0;
            for (int i = 0; i < _drops.Length; i += 8)
                sum += Volatile.Read(ref _drops[i]);
            return sum;
        }
    }

    /// <summary>
    /// Called by worker <paramref name="worker"/> for a frame it holds: takes a reference on the
    /// chain and queues it for the writer; when the ring is full only the copy is dropped.
    /// </summary>
    internal void Offer(WorkerContext worker, PacketBuffer packet, bool outbound)
    {
        worker.Cache.AddReference(packet);
        if (Rings[worker.Index].TryEnqueue(new CapturedPacket(packet, worker.Now, outbound)))
            return;
        worker.Cache.Release(packet);
        worker.Counters.CaptureDrops++;
        _drops[worker.Index * 8]++;
    }
}
