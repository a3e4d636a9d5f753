using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.AfXdp;

/// <summary>
/// The transmit side of one queue: each frame goes on the TX ring as it is, from its own pool
/// buffer (<see cref="AfXdpUmem"/>: the pool is the UMEM), and the buffer is the kernel's until it
/// comes back on the completion ring, drained at every burst and every receive poll into the
/// worker's cache. Once a burst the ring is submitted and, when the kernel asks for it
/// (need-wakeup), kicked. A frame in a chain of buffers (the ring takes one buffer a frame: no
/// XDP_USE_SG) is first gathered into a fresh buffer. Owned by one worker.
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
    private readonly AfXdpUmem _umem;
    private readonly QueueCounters _counters;
    private int _inFlight; // buffers on the TX ring or not yet back on the completion ring
    private bool _pending; // frames submitted that the last kick did not get to

    /// <summary>The transmit side of <paramref name="socket"/> over <paramref name="umem"/>.</summary>
    public AfXdpTransmitter(XdpSocket socket, AfXdpUmem umem, QueueCounters counters)
    {
        _socket = socket;
        _tx = socket.Tx!;
        _completion = socket.Completion!;
        _umem = umem;
        _counters = counters;
    }

    /// <summary>Buffers sent and not yet back, after draining the completion ring into <paramref name="cache"/>.</summary>
    public int InFlight(BufferCache cache)
    {
        Reclaim(cache);
        return _inFlight;
    }

    /// <summary>
    /// Puts the frames of <paramref name="burst"/> on the TX ring (their buffers are the kernel's
    /// until they come back) and kicks the kernel. Returns how many it took from the front: fewer
    /// than the burst when the TX ring is full (the engine tries the rest again). A frame longer than
    /// a buffer, or whose chain does not add up, is taken, released and counted as an error; a chain
    /// with no fresh buffer to gather it into is taken, released and counted as a transmit drop.
    /// </summary>
    public int Transmit(ReadOnlySpan<PacketBuffer> burst, BufferCache cache)
    {
        Reclaim(cache);
        BufferPool pool = cache.Pool;
        int taken = 0;
        uint queued = 0;
        for (; taken < burst.Length; taken++)
        {
            if (_tx.FreeCount(1) == 0)
                break; // the ring is full: the rest stay the caller's
            PacketBuffer frame = burst[taken];
            ref BufferMetadata m = ref pool.Metadata(frame);
            if (m.Next >= 0 && !TryGather(cache, ref frame))
                continue;
            m = ref pool.Metadata(frame);
            _tx.Reserve(1, out uint index);
            _tx.Descriptor(index) = new XdpDesc { Address = _umem.ChunkOf(frame) + m.DataOffset, Length = m.DataLength };
            _inFlight++;
            _counters.TransmittedPackets++;
            _counters.TransmittedBytes += m.DataLength;
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

    /// <summary>
    /// Takes back what the kernel has sent (the completion ring) into <paramref name="cache"/>, and
    /// kicks the kernel if frames submitted earlier are still on the TX ring: cheap when there is
    /// nothing to do. The worker does this at every receive poll.
    /// </summary>
    public void Service(BufferCache cache)
    {
        if (_inFlight > 0)
            Reclaim(cache);
        if (_pending)
            Kick(0);
    }

    /// <summary>Releases the buffers the kernel has sent (off the completion ring) to <paramref name="cache"/>.</summary>
    private void Reclaim(BufferCache cache)
    {
        uint n = _completion.Peek(AfXdpChannel.RingSize, out uint index);
        if (n == 0)
            return;
        for (uint k = 0; k < n; k++)
        {
            // The address we put on the TX ring: the frame's first byte, in its buffer.
            if (_umem.TryLocate(_completion.Address(index + k), out PacketBuffer buffer, out _))
                cache.Release(buffer);
            else
            {
                _counters.Errors++; // not one of ours: the kernel wrote it (cannot happen)
            }
        }
        _completion.Release(n);
        _inFlight -= (int)n;
    }

    /// <summary>
    /// Gathers the chain at <paramref name="frame"/> into one fresh buffer and releases the chain;
    /// false, with the chain released and counted, when it does not fit a buffer, does not add up,
    /// or there is no fresh buffer.
    /// </summary>
    private bool TryGather(BufferCache cache, ref PacketBuffer frame)
    {
        BufferPool pool = cache.Pool;
        PacketBuffer chain = frame;
        int length = pool.Metadata(chain).PacketLength;
        if ((uint)length > (uint)pool.DataRoom)
        {
            _counters.Errors++; // longer than a buffer: past the MTU this driver sends (no multi-buffer)
            cache.Release(chain);
            return false;
        }
        if (!cache.TryAllocate(out PacketBuffer single))
        {
            _counters.TransmitDrops++;
            cache.Release(chain);
            return false;
        }
        Span<byte> room = pool.Room(single);
        int copied = 0;
        for (PacketBuffer piece = chain; piece.IsValid; piece = new PacketBuffer(pool.Metadata(piece).Next))
        {
            Span<byte> bytes = pool.Data(piece);
            if (bytes.Length > length - copied)
            {
                copied = -1; // the chain holds more than the head says
                break;
            }
            bytes.CopyTo(room[copied..]);
            copied += bytes.Length;
        }
        cache.Release(chain);
        if (copied != length)
        {
            _counters.Errors++;
            cache.Release(single);
            return false;
        }
        ref BufferMetadata m = ref pool.Metadata(single);
        m.DataLength = (ushort)length;
        m.PacketLength = length;
        frame = single;
        return true;
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
                // 0 is not "all sent": the kernel also stops early, without an error, when the
                // completion ring is full (__xsk_generic_xmit). Pending while it has not read all.
                _pending = _tx.FreeCount(_tx.Size) < _tx.Size;
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
}
