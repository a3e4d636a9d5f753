using Dataplane.Drivers.Virtio;
using System.Diagnostics;
using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.Tap;

/// <summary>
/// One queue pair of a <see cref="TapPort"/>: a file descriptor of the multi-queue tap, read with
/// readv (one frame a call) into buffers of the worker's cache and written with writev (one frame a
/// call) from buffer chains, each behind a virtio-net header. Non-blocking: a burst stops at EAGAIN.
/// Never throws on the data path; failures are counted.
/// </summary>
/// <remarks>
/// Receive facts: checksum state and super-frames come from each frame's virtio-net header (per
/// frame); the 10-byte header the port reads has no hash field, so the engine hashes every frame.
/// </remarks>
[PacketPath("tap", Checksum = OffloadReport.PerFrame, RssHash = OffloadReport.Never, Lro = OffloadReport.PerFrame)]
internal readonly struct TapQueue : IQueuePair
{
    private readonly TapQueueState _state;
    private readonly BufferCache _cache;
    private readonly BufferPool _pool;
    private readonly QueueCounters _counters;
    private readonly ushort _port;

    internal TapQueue(TapQueueState state, BufferCache cache, QueueCounters counters, ushort port)
    {
        state.Bind(cache.Pool);
        _state = state;
        _cache = cache;
        _pool = cache.Pool;
        _counters = counters;
        _port = port;
    }

    /// <summary>
    /// The queue's descriptor, readable (EPOLLIN) when a frame waits: for a worker's idle sleep.
    /// Owned by the port; valid until the port is disposed.
    /// </summary>
    public FileDescriptor ReadinessDescriptor => _state.Descriptor;

    /// <summary>The queue's number in its port.</summary>
    public int Index => _state.Index;

    /// <summary>
    /// Reads up to <paramref name="burst"/>.Length frames, one readv each, until the kernel has no
    /// more (EAGAIN). Each frame is a chain of reserve buffers with the offloads of its header in the
    /// head's metadata. Without buffers a frame is read into the discard area and counted in
    /// <see cref="QueueCounters.ReceiveDrops"/>, so the kernel's queue drains; so is a frame longer
    /// than the buffers a read had. Dropped frames count against the burst too, so a flood while
    /// the pool is empty cannot hold the worker here.
    /// </summary>
    public int Receive(Span<PacketBuffer> burst)
    {
        TapQueueState state = _state;
        FileDescriptor fd = state.Descriptor;
        BufferPool pool = _pool;
        int room = state.Room;
        int received = 0;
        long bytes = 0;
        long now = 0;
        for (int reads = 0; reads < burst.Length; reads++)
        {
            int ready = state.TopUp(_cache);
            if (ready == 0)
            {
                if (!DiscardOne(fd))
                    break;
                continue;
            }
            nint n = fd.ScatterRead(state.ReceiveVectors);
            if (n < 0)
            {
                if (n != -Errno.EAGAIN)
                    _counters.Errors++; // EBADFD once the tap is gone; the next burst tries again
                break;
            }
            int length = (int)n - TapOffloads.HeaderSize;
            // tun.c returns the frame's whole length even when it did not fit the iovecs.
            if (length < EthernetHeaderLength || length > ready * room)
            {
                _counters.ReceiveDrops++;
                continue; // the reserve is untouched: its buffers take the next frame
            }
            if (now == 0)
                now = Stopwatch.GetTimestamp();
            burst[received++] = Chain(state, pool, length, room, now);
            bytes += length;
        }
        _counters.ReceivedPackets += received;
        _counters.ReceivedBytes += bytes;
        return received;
    }

    private const int EthernetHeaderLength = 14;

    /// <summary>Links the reserve buffers a frame of <paramref name="length"/> bytes filled into a chain.</summary>
    private PacketBuffer Chain(TapQueueState state, BufferPool pool, int length, int room, long now)
    {
        ReadOnlySpan<PacketBuffer> reserve = state.Reserve;
        int used = (length + room - 1) / room;
        PacketBuffer head = reserve[0];
        int left = length;
        for (int i = 0; i < used; i++)
        {
            ref BufferMetadata piece = ref pool.Metadata(reserve[i]);
            piece.DataLength = (ushort)Math.Min(left, room);
            piece.Next = i + 1 < used ? reserve[i + 1].Index : -1;
            left -= room;
        }
        ref BufferMetadata m = ref pool.Metadata(head);
        m.PacketLength = length;
        m.Segments = (byte)used;
        m.Port = _port;
        m.Queue = (ushort)state.Index;
        m.Timestamp = now;
        VirtioNetOffload.Receive(TapOffloads.Read(state.ReceiveHeader), ref m);
        state.Take(used);
        return head;
    }

    /// <summary>Reads one frame into the discard area and counts it dropped; false when there was none.</summary>
    private bool DiscardOne(FileDescriptor fd)
    {
        nint n = fd.Read(_state.Discard);
        if (n < 0)
        {
            if (n != -Errno.EAGAIN)
                _counters.Errors++;
            return false;
        }
        _counters.ReceiveDrops++;
        return true;
    }

    /// <summary>
    /// Writes the frames of <paramref name="burst"/> in order, one writev each (the virtio-net header
    /// from the head's metadata, then every buffer of the chain), and releases each frame sent to the
    /// cache. EAGAIN stops the burst: the frames from there on stay the caller's. Any other failure
    /// (EINVAL for a header the kernel refuses, EIO while the interface is down) drops that frame
    /// and counts it in <see cref="QueueCounters.Errors"/>.
    /// </summary>
    public int Transmit(ReadOnlySpan<PacketBuffer> burst)
    {
        TapQueueState state = _state;
        FileDescriptor fd = state.Descriptor;
        BufferPool pool = _pool;
        long bytes = 0;
        int sent = 0;
        int i = 0;
        for (; i < burst.Length; i++)
        {
            PacketBuffer head = burst[i];
            ref BufferMetadata m = ref pool.Metadata(head);
            // Only a super-frame's header needs a look into the frame (for hdr_len).
            ReadOnlySpan<byte> headers = m.Gso == GsoType.None ? default : pool.Data(head);
            TapOffloads.Write(VirtioNetOffload.FromMetadata(m, headers), state.TransmitHeader);
            int vectors = state.PrepareTransmit(pool, head);
            nint n = vectors < 0 ? -Errno.EMSGSIZE : fd.GatherWrite(state.TransmitVectors(vectors));
            if (n == -Errno.EAGAIN)
                break;
            if (n < 0)
            {
                _counters.Errors++;
                state.InterfaceDown = n == -Errno.EIO; // tun.c: a write to a tap that is down fails with EIO
            }
            else
            {
                sent++;
                bytes += n - TapOffloads.HeaderSize;
                state.InterfaceDown = false;
            }
            _cache.Release(head); // the kernel copied it (or refused it for good)
        }
        _counters.TransmittedPackets += sent;
        _counters.TransmittedBytes += bytes;
        return i;
    }
}
