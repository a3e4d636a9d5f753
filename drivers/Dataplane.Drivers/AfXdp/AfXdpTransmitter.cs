using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.AfXdp;

/// <summary>
/// The transmit side of one queue: each frame (a chain gathered) is copied into a free transmit
/// chunk and put on the TX ring; once a burst the ring is submitted and, when the kernel asks for
/// it (need-wakeup), kicked. Chunks the kernel has sent come back on the completion ring, which is
/// drained at every burst into a free list. Owned by one worker.
/// </summary>
/// <remarks>
/// In copy mode the TX ring's need-wakeup flag is always set: the kernel sends only inside a kick
/// (sendto, net/xdp/xsk.c __xsk_generic_xmit), and at most 32 frames a call (TX_BATCH_SIZE), after
/// which it answers EAGAIN; so a burst is kicked until the ring is empty or the kernel stops for
/// another reason (the socket's send buffer full: also EAGAIN). What is left goes with the next
/// kick, which the next burst, or the next receive, makes.
/// </remarks>
internal sealed class AfXdpTransmitter
{
    /// <summary>TX_BATCH_SIZE (net/xdp/xsk.c): frames a copy-mode kick sends before it answers EAGAIN.</summary>
    private const int KernelBatch = 32;

    private readonly XdpSocket _socket;
    private readonly XdpRing _tx;
    private readonly XdpRing _completion;
    private readonly PinnedMemory _umem;
    private readonly QueueCounters _counters;
    private readonly ulong[] _free; // UMEM addresses of the transmit chunks that are ours
    private int _freeCount;
    private bool _pending; // frames submitted that the last kick did not get to

    /// <summary>The transmit side of <paramref name="socket"/> over <paramref name="umem"/>: the chunks after the receive ones.</summary>
    public AfXdpTransmitter(XdpSocket socket, PinnedMemory umem, QueueCounters counters)
    {
        _socket = socket;
        _tx = socket.Tx!;
        _completion = socket.Completion!;
        _umem = umem;
        _counters = counters;
        _free = new ulong[AfXdpChannel.RingSize];
        for (uint k = 0; k < AfXdpChannel.RingSize; k++)
            _free[k] = (AfXdpChannel.RingSize + k) * AfXdpChannel.ChunkSize;
        _freeCount = _free.Length;
    }

    /// <summary>Transmit chunks free now (not on the TX ring nor waiting on the completion ring), after draining the completion ring.</summary>
    public int FreeChunks
    {
        get
        {
            Reclaim();
            return _freeCount;
        }
    }

    /// <summary>
    /// Copies the frames of <paramref name="burst"/> into free chunks, puts them on the TX ring,
    /// releases their buffers to <paramref name="cache"/> and kicks the kernel. Returns how many it
    /// took from the front: fewer than the burst when the TX ring or the free chunks run out (the
    /// engine tries the rest again). A frame longer than a chunk, or whose chain does not add up,
    /// is taken, released and counted as an error.
    /// </summary>
    public int Transmit(ReadOnlySpan<PacketBuffer> burst, BufferCache cache)
    {
        Reclaim();
        BufferPool pool = cache.Pool;
        Span<byte> umem = _umem.Span;
        int taken = 0;
        uint queued = 0;
        for (; taken < burst.Length; taken++)
        {
            PacketBuffer frame = burst[taken];
            int length = pool.Metadata(frame).PacketLength;
            if ((uint)length > AfXdpChannel.ChunkSize)
            {
                _counters.Errors++; // longer than a chunk: the MTU is past what this driver sends
                cache.Release(frame);
                continue;
            }
            if (_freeCount == 0)
                break; // every chunk is on the ring or not yet completed: the rest stay the caller's
            ulong address = _free[_freeCount - 1];
            if (!Gather(pool, frame, length, umem.Slice((int)address, (int)AfXdpChannel.ChunkSize)))
            {
                _counters.Errors++;
                cache.Release(frame);
                continue;
            }
            if (_tx.Reserve(1, out uint index) == 0)
                break; // the ring is full (the chunk stays free; the frame is copied again next time)
            _freeCount--;
            _tx.Descriptor(index) = new XdpDesc { Address = address, Length = (uint)length };
            cache.Release(frame);
            _counters.TransmittedPackets++;
            _counters.TransmittedBytes += length;
            queued++;
        }
        if (queued > 0)
        {
            // Release: the frames and descriptors are written before the kernel sees the producer index.
            _tx.Submit(queued);
            _pending = true;
        }
        if (_pending)
            Kick((int)queued);
        return taken;
    }

    /// <summary>Kicks the kernel if frames submitted earlier are still on the TX ring: cheap when there are none.</summary>
    public void KickIfPending()
    {
        if (_pending)
            Kick(0);
    }

    /// <summary>Takes the chunks the kernel has sent off the completion ring into the free list.</summary>
    private void Reclaim()
    {
        uint n = _completion.Peek(AfXdpChannel.RingSize, out uint index);
        if (n == 0)
            return;
        for (uint k = 0; k < n; k++)
            _free[_freeCount++] = _completion.Address(index + k);
        _completion.Release(n);
    }

    /// <summary>
    /// sendto(MSG_DONTWAIT) when the kernel wants it (need-wakeup), again while it stops at its
    /// batch with frames left, a few times at most. EAGAIN, EBUSY, ENOBUFS and ENETDOWN are passing
    /// (xsk.h's kick_tx): the frames stay on the ring for the next kick. Anything else is an error.
    /// </summary>
    private void Kick(int queued)
    {
        if (!_tx.NeedsWakeup)
        {
            _pending = false; // the kernel sends without being asked (zero copy, device busy-polling the ring)
            return;
        }
        for (int attempt = queued / KernelBatch + 1; attempt > 0; attempt--)
        {
            nint result = _socket.KickTransmit();
            if (result >= 0)
            {
                _pending = false;
                return;
            }
            if (result == -Errno.EAGAIN)
                continue;
            if (result != -Errno.EBUSY && result != -Errno.ENOBUFS && result != -Errno.ENETDOWN)
            {
                _counters.Errors++;
                _pending = false;
            }
            return;
        }
    }

    /// <summary>Copies the chain at <paramref name="frame"/> (<paramref name="length"/> bytes by its head) into <paramref name="chunk"/>.</summary>
    private static bool Gather(BufferPool pool, PacketBuffer frame, int length, Span<byte> chunk)
    {
        int copied = 0;
        for (PacketBuffer piece = frame; piece.IsValid; piece = new PacketBuffer(pool.Metadata(piece).Next))
        {
            Span<byte> bytes = pool.Data(piece);
            if (bytes.Length > length - copied)
                return false; // the chain holds more than the head says
            bytes.CopyTo(chunk[copied..]);
            copied += bytes.Length;
        }
        return copied == length;
    }
}
