using System.Diagnostics;
using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;
using static Dataplane.Drivers.Vfio.E1000e.E1000eDescriptor;

namespace Dataplane.Drivers.Vfio.E1000e;

/// <summary>
/// Receive queue 0 of an 82574 (§7.1): a ring of legacy receive descriptors, each holding a pool
/// buffer's data room (IOVA == its address, no copy) that the device writes a frame into, with
/// DD, EOP and the checksum status written back (§7.1.4.1). We own the tail, the device the head
/// (§7.1.3): descriptors from RDH up to RDT are the device's, and one slot is always left empty so
/// RDH == RDT means "none". Refilled from the worker's cache after every burst. Owned by one worker.
/// </summary>
internal sealed class E1000eReceiver
{
    /// <summary>Idle polls with the interrupt armed between two re-arms: bounds the spin a stale interrupt can cause.</summary>
    private const int RearmEveryIdlePolls = 1024;

    private readonly DmaRegion _ring;
    private readonly IMmioRegion _registers;
    private readonly EventFd _interrupt;
    private readonly QueueCounters _counters;
    private readonly int[] _buffers; // the pool buffer behind each descriptor, -1 when none
    private readonly int _mask;
    private readonly ushort _port;
    private readonly ushort _queue;
    private int _next;   // the next descriptor the device completes
    private int _tail;   // the next descriptor we fill (RDT)
    private int _posted; // descriptors holding a buffer
    private bool _discarding; // inside a frame that spans descriptors: dropped up to its EOP
    private bool _armed;
    private int _idlePolls;

    /// <summary>The receive side over <paramref name="ring"/> (a power of two of descriptors), its MSI-X vector's eventfd <paramref name="interrupt"/>.</summary>
    public E1000eReceiver(DmaRegion ring, IMmioRegion registers, EventFd interrupt, QueueCounters counters, ushort port, ushort queue)
    {
        int size = ring.Length / Size;
        if (size < 8 || (size & (size - 1)) != 0)
            throw new ArgumentException("a ring of a power of two of descriptors, 8 at least", nameof(ring));
        _ring = ring;
        _registers = registers;
        _interrupt = interrupt;
        _counters = counters;
        _port = port;
        _queue = queue;
        _buffers = new int[size];
        Array.Fill(_buffers, -1);
        _mask = size - 1;
    }

    /// <summary>Descriptors in the ring.</summary>
    public int Descriptors => _buffers.Length;

    /// <summary>Descriptors the device holds a buffer in (for tests).</summary>
    public int Posted => _posted;

    /// <summary>
    /// Up to <paramref name="burst"/>.Length frames the device has written, then the ring refilled
    /// from <paramref name="cache"/>. A frame with a receive error (CRC, symbol, sequence, carrier
    /// extension, RX data error), or a length that does not fit its buffer, is dropped and counted
    /// as an error; one that spans descriptors (no EOP: it was longer than a buffer, which RCTL.LPE
    /// off forbids) too. When nothing has arrived, the queue's interrupt is armed (IMS) and the ring
    /// looked at once more, so a frame that came in between does not wait for the next one.
    /// </summary>
    public int Receive(Span<PacketBuffer> burst, BufferCache cache)
    {
        // A ring the cache could not fill last time is topped up first: without buffers the
        // device receives nothing, and nothing else would refill it.
        if (_posted < _mask)
            Refill(cache);
        Span<byte> ring = _ring.Span;
        if ((Mmio.Read8(ring, _next * Size + RxStatus) & RxDone) == 0)
        {
            if (_armed && ++_idlePolls < RearmEveryIdlePolls)
                return 0;
            // §7.4.2: with EIAC, the vector's firing clears RXQ0 in ICR and masks it in IMS, so an
            // interrupt is one shot: drain the eventfd, unmask, then look again (a frame written
            // before the unmask raised nothing). Armed already, the same every RearmEveryIdlePolls
            // polls: a shot taken by frames we have read since would leave the worker no wake-up.
            _idlePolls = 0;
            _interrupt.Drain();
            _registers.Write32(E1000eRegisters.Ims, E1000eRegisters.InterruptRxQueue0);
            _armed = true;
            Mmio.FullBarrier();
            if ((Mmio.Read8(ring, _next * Size + RxStatus) & RxDone) == 0)
                return 0;
        }
        if (_armed)
        {
            _registers.Write32(E1000eRegisters.Imc, E1000eRegisters.InterruptRxQueue0); // busy: polled, no interrupts
            _armed = false;
            _idlePolls = 0;
        }

        BufferPool pool = cache.Pool;
        long now = Stopwatch.GetTimestamp(); // one clock read per burst
        int n = 0;
        while (n < burst.Length && _posted > 0)
        {
            int at = _next * Size;
            byte status = Mmio.Read8(ring, at + RxStatus); // volatile: the fields after it are read after DD
            if ((status & RxDone) == 0)
                break;
            int length = Mmio.Read16(ring, at + RxLength);
            byte errors = Mmio.Read8(ring, at + RxErrors);
            int index = _buffers[_next];
            _buffers[_next] = -1;
            _next = (_next + 1) & _mask;
            _posted--;
            if (index < 0)
            {
                _counters.Errors++; // a descriptor we gave no buffer: cannot happen with a sane device
                continue;
            }
            var buffer = new PacketBuffer(index);
            bool last = (status & RxEndOfPacket) != 0;
            if (_discarding || !last || (errors & RxFrameErrors) != 0 || length < 14 || length > E1000eRegisters.ReceiveBufferSize)
            {
                if (!_discarding)
                    _counters.Errors++; // one count a frame, at its first descriptor
                _discarding = !last;
                cache.Release(buffer);
                continue;
            }
            ref BufferMetadata m = ref pool.Metadata(buffer);
            m.DataOffset = (ushort)pool.Headroom;
            m.DataLength = (ushort)length;
            m.PacketLength = length;
            m.Next = -1;
            m.Segments = 1;
            m.Offload = Checksums(status, errors);
            m.Gso = GsoType.None;
            m.Port = _port;
            m.Queue = _queue;
            m.Timestamp = now;
            _counters.ReceivedBytes += length;
            burst[n++] = buffer;
        }
        _counters.ReceivedPackets += n;
        Refill(cache);
        return n;
    }

    /// <summary>
    /// The checksum facts of a descriptor (§7.1.4.1 with RXCSUM.IPOFLD and TUOFLD, §10.2.5.16):
    /// verified where the device calculated a checksum and found it right; nothing where it
    /// ignored them (IXSM), did not calculate them, or found them wrong (software checks again,
    /// and drops and counts what is bad).
    /// </summary>
    internal static OffloadFlags Checksums(byte status, byte errors)
    {
        if ((status & RxIgnoreChecksum) != 0)
            return OffloadFlags.None;
        OffloadFlags flags = OffloadFlags.None;
        if ((status & RxIpChecksum) != 0 && (errors & RxIpError) == 0)
            flags |= OffloadFlags.Ipv4ChecksumVerified;
        if ((status & (RxTcpChecksum | RxUdpChecksum)) != 0 && (errors & RxTcpError) == 0)
            flags |= OffloadFlags.L4ChecksumVerified;
        return flags;
    }

    /// <summary>
    /// Puts a fresh buffer of <paramref name="cache"/> behind every free descriptor (all but one),
    /// then moves RDT past them (§7.1.3: the tail write hands them to the device). Stops when the
    /// cache runs dry: the next burst tries again.
    /// </summary>
    public void Refill(BufferCache cache)
    {
        if (_posted >= _mask)
            return;
        BufferPool pool = cache.Pool;
        Span<byte> ring = _ring.Span;
        int added = 0;
        while (_posted < _mask && cache.TryAllocate(out PacketBuffer buffer))
        {
            int at = _tail * Size;
            Mmio.Write64(ring, at + Address, (ulong)(pool.Address(buffer.Index) + pool.Headroom));
            Mmio.Write64(ring, at + RxLength, 0); // length, checksum, status (DD), errors, special
            _buffers[_tail] = buffer.Index;
            _tail = (_tail + 1) & _mask;
            _posted++;
            added++;
        }
        if (added == 0)
            return;
        Mmio.FullBarrier(); // the descriptors before the tail that hands them over
        _registers.Write32(E1000eRegisters.Rdt, (uint)_tail);
    }

    /// <summary>Every buffer on the ring back to <paramref name="cache"/>, the ring empty, with the receiver off. Control path.</summary>
    public void ReleaseAll(BufferCache cache)
    {
        for (int i = 0; i < _buffers.Length; i++)
        {
            if (_buffers[i] < 0)
                continue;
            cache.Release(new PacketBuffer(_buffers[i]));
            _buffers[i] = -1;
        }
        _next = _tail = _posted = 0;
        _discarding = _armed = false;
        _ring.Span.Clear();
    }
}
