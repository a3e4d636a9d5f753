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
    /// Called by worker <paramref name="worker"/> for a frame it holds: queues it for the writer;
    /// when the ring is full (or, for a received frame, no buffer is free) only the capture's
    /// copy is dropped. A sent frame is final, so the capture takes a reference on its chain; a
    /// received frame is still to be processed, and forwarding rewrites it in place (addresses,
    /// TTL), so the capture takes a copy of it as it arrived.
    /// </summary>
    internal void Offer(WorkerContext worker, PacketBuffer packet, bool outbound)
    {
        PacketBuffer captured = packet;
        if (outbound)
            worker.Cache.AddReference(packet);
        else if (!TryCopy(worker, packet, out captured))
        {
            CountDrop(worker);
            return;
        }
        if (Rings[worker.Index].TryEnqueue(new CapturedPacket(captured, worker.Now, outbound)))
            return;
        worker.Cache.Release(captured);
        CountDrop(worker);
    }

    private void CountDrop(WorkerContext worker)
    {
        worker.Counters.CaptureDrops++;
        _drops[worker.Index * 8]++;
    }

    /// <summary>Copies the chain of <paramref name="packet"/> into fresh buffers of the worker's cache; false when the pool ran dry.</summary>
    private static bool TryCopy(WorkerContext worker, PacketBuffer packet, out PacketBuffer copy)
    {
        BufferPool pool = worker.Pool;
        BufferCache cache = worker.Cache;
        copy = PacketBuffer.None;
        for (int index = packet.Index; index >= 0; index = pool.Metadata(new PacketBuffer(index)).Next)
        {
            if (!cache.TryAllocate(out PacketBuffer piece))
            {
                if (copy.IsValid)
                    cache.Release(copy);
                copy = PacketBuffer.None;
                return false;
            }
            Span<byte> data = pool.Data(new PacketBuffer(index));
            ref BufferMetadata m = ref pool.Metadata(piece);
            m.DataLength = (ushort)data.Length;
            m.PacketLength = data.Length;
            data.CopyTo(pool.Room(piece));
            if (!copy.IsValid)
                copy = piece;
            else
                cache.TryAppend(copy, piece);
        }
        return true;
    }
}
