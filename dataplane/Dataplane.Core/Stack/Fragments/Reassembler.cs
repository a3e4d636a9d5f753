using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Stack.Ip;
using Dataplane.Wire;

namespace Dataplane.Stack.Fragments;

/// <summary>
/// Reassembly of the fragments of datagrams for this host, part of one worker's IP layer: IPv4
/// (RFC 791 3.2, RFC 815, RFC 1122 3.3.2) and IPv6 (RFC 8200 4.5, RFC 5722, RFC 6946), in the
/// worker's <see cref="ReassemblyTable"/>. It takes fragments from the IP input and gives back
/// whole datagrams, which the input takes on up; it calls nothing above it. Counts under IP and IPv6.
/// </summary>
/// <remarks>
/// A whole datagram goes back to the IP input as a (packet, view) pair, as any packet comes in:
/// <list type="bullet">
/// <item>when it fits the first fragment's buffer (up to about 2 KiB), the other fragments' data is
/// copied behind the first's header: one buffer, and the view lies in it, as for any packet;</item>
/// <item>when it does not, the fragments become a chain (the first fragment's buffer, then the others
/// with their headers trimmed; no copy), and the view is over the worker's linear copy of the
/// chain (<see cref="WorkerPackets.Linearize"/>). The view is valid until the handler returns, and
/// writes to it do not reach the chain: a handler that answers in place (ICMP echo) sends from the
/// copy (<see cref="IpOutput.Ipv4OutputLinear"/>), one that keeps data copies it out. A handler can
/// tell the two cases apart by the first buffer's Segments: more than one means the view is the copy.</item>
/// </list>
/// </remarks>
internal sealed class Reassembler
{
    /// <summary>How long an IPv4 datagram may take to reassemble: 30 s, as Linux (ipfrag_time) and OpenBSD (IPFRAGTTL).</summary>
    public const long Ipv4ReassemblyTimeout = 30_000_000_000;

    /// <summary>How long an IPv6 packet may take to reassemble: 60 s from its first-arriving fragment (RFC 8200 4.5).</summary>
    public const long Ipv6ReassemblyTimeout = 60_000_000_000;

    private const int EthernetHeader = WorkerPackets.EthernetHeader;
    private const int Ipv6Header = Ipv6Packet.FixedLength;
    private const int FragmentHeader6 = Ipv6FragmentHeader.FixedLength;

    private readonly NetworkStack _stack;
    private readonly WorkerContext _context;
    private readonly BufferPool _pool;
    private readonly WorkerPackets _packets;
    private readonly IcmpLayer _icmp;
    private readonly StackCounters _counters;
    private readonly ReassemblyTable _table;

    /// <summary>Reassembly for the worker whose buffers <paramref name="packets"/> handles; its timeouts are timers of <paramref name="timerKind"/>.</summary>
    public Reassembler(NetworkStack stack, WorkerPackets packets, IcmpLayer icmp, StackCounters counters, int timerKind)
    {
        _stack = stack;
        _packets = packets;
        _context = packets.Context;
        _pool = packets.Pool;
        _icmp = icmp;
        _counters = counters;
        // A quarter of a small pool at most, so a fragment flood cannot starve the receive rings.
        int maxFragments = Math.Clamp(_pool.Count / 4, 2, ReassemblyTable.DefaultMaxFragments);
        _table = new ReassemblyTable(_context, counters, timerKind, maxFragments: maxFragments);
    }

    /// <summary>The datagrams this worker holds in reassembly.</summary>
    public ReassemblyTable Table => _table;

    /// <summary>
    /// Takes an IPv4 fragment for this host (RFC 791 3.2, RFC 815, RFC 1122 3.3.2). True when it
    /// completed its datagram and the datagram stays on this worker: <paramref name="datagram"/>
    /// and the view <paramref name="whole"/> of it go on up. False when the fragment was held,
    /// dropped, or completed a datagram handed to the worker that owns its flow.
    /// </summary>
    public bool Reassemble(NetInterface iface, PacketBuffer packet, Ipv4Packet ip, out PacketBuffer datagram, out Ipv4Packet whole)
    {
        datagram = PacketBuffer.None;
        whole = default;
        _counters.Count(IpCounter.Fragments);
        int headerLength = ip.HeaderLength;
        int length = ip.PacketLength - headerLength;
        int offset = ip.FragmentOffset * 8;
        bool more = ip.HasFlags(Ipv4Flags.MoreFragments);
        // Every fragment but the last carries a non-zero multiple of 8 bytes, and none reaches past
        // what a total length of 65535 can hold (the "ping of death").
        if ((more && (length == 0 || (length & 7) != 0)) || headerLength + offset + length > ushort.MaxValue)
        {
            DropFragment(packet, IpCounter.FragmentsMalformed);
            return false;
        }
        int slot = _table.FindOrAdd(ReassemblyKey.Ipv4(ip), iface.Index, Ipv4ReassemblyTimeout);
        if (slot < 0)
        {
            DropFragment(packet, IpCounter.ReassemblyOutOfMemory); // no timer left on the wheel
            return false;
        }
        FragmentVerdict verdict = _table.Add(slot, packet, EthernetHeader + headerLength, offset, length, last: !more);
        if (verdict == FragmentVerdict.Held)
            return false;
        if (verdict == FragmentVerdict.Complete)
            return Reassembled(slot, out datagram, out whole);
        IpCounter reason = verdict switch
        {
            FragmentVerdict.Duplicate => IpCounter.FragmentsDuplicate,
            FragmentVerdict.AfterDiscard => IpCounter.FragmentsAfterDiscard,
            FragmentVerdict.Overlapping => IpCounter.ReassemblyOverlapping,
            FragmentVerdict.TooMany => IpCounter.ReassemblyTooManyFragments,
            FragmentVerdict.OutOfMemory => IpCounter.ReassemblyOutOfMemory,
            _ => IpCounter.FragmentsMalformed,
        };
        Refuse(slot, verdict);
        DropFragment(packet, reason);
        return false;
    }

    /// <summary>
    /// Takes an IPv6 fragment for this host, its fragment header at <paramref name="offset"/>
    /// (RFC 8200 4.5, RFC 5722, RFC 6946). True when it completed its packet (or was an atomic
    /// fragment) and the packet stays on this worker: <paramref name="datagram"/> and the view
    /// <paramref name="whole"/> go on along the header chain from <paramref name="next"/> at
    /// <paramref name="nextOffset"/>, named by the field at <paramref name="nameField"/>;
    /// <paramref name="atomic"/> says it is the packet it came as (RFC 6946), not one gathered from
    /// pieces, which no driver's checksum state describes. False when the fragment was held, dropped,
    /// or completed a packet handed to the worker that owns its flow.
    /// </summary>
    public bool Reassemble(NetInterface iface, PacketBuffer packet, Ipv6Packet ip, int offset, out PacketBuffer datagram, out Ipv6Packet whole, out IpProtocol next, out int nextOffset, out int nameField, out bool atomic)
    {
        atomic = false;
        datagram = PacketBuffer.None;
        whole = default;
        next = default;
        nextOffset = 0;
        nameField = 0;
        _counters.Count(Ip6Counter.Fragments);
        if (_pool.Metadata(packet).Segments > 1)
        {
            // A fragment header inside a datagram that was itself reassembled (RFC 8200 4.1
            // allows one), or a fragment that came in a chain (a jumbo frame's): its offsets
            // would point into the linear copy, not the chain.
            DropFragment(packet, Ip6Counter.FragmentsMalformed);
            return false;
        }
        if (!Ipv6FragmentHeader.TryCreate(ip.Buffer[offset..ip.PacketLength], out Ipv6FragmentHeader header))
        {
            DropFragment(packet, Ip6Counter.FragmentsMalformed);
            return false;
        }
        int dataStart = offset + FragmentHeader6;
        int length = ip.PacketLength - dataStart;
        int fragmentOffset = header.FragmentOffset * 8;
        bool more = header.MoreFragments;
        if (fragmentOffset == 0 && !more)
        {
            // RFC 6946: an atomic fragment is a whole packet, processed apart from any reassembly.
            atomic = true;
            datagram = packet;
            whole = ip;
            next = header.NextHeader;
            nextOffset = dataStart;
            nameField = offset;
            return true;
        }
        if (more && (length & 7) != 0)
        {
            // RFC 8200 4.5: a parameter problem pointing at the payload length.
            _counters.Count(Ip6Counter.FragmentsMalformed);
            _icmp.SendError(iface, ip, Icmpv6Type.ParameterProblem, 0, 4);
            Drop(packet, Ip6Counter.FragmentsDropped);
            return false;
        }
        if (fragmentOffset + length > ushort.MaxValue)
        {
            // RFC 8200 4.5: a parameter problem pointing at the fragment offset.
            _counters.Count(Ip6Counter.FragmentsMalformed);
            _icmp.SendError(iface, ip, Icmpv6Type.ParameterProblem, 0, (uint)(offset + 2));
            Drop(packet, Ip6Counter.FragmentsDropped);
            return false;
        }
        if (more && length == 0)
        {
            DropFragment(packet, Ip6Counter.FragmentsMalformed);
            return false;
        }
        int slot = _table.FindOrAdd(ReassemblyKey.Ipv6(ip, header.Identification), iface.Index, Ipv6ReassemblyTimeout);
        if (slot < 0)
        {
            DropFragment(packet, Ip6Counter.ReassemblyOutOfMemory);
            return false;
        }
        FragmentVerdict verdict = _table.Add(slot, packet, EthernetHeader + dataStart, fragmentOffset, length, last: !more);
        if (verdict == FragmentVerdict.Held)
            return false;
        if (verdict == FragmentVerdict.Complete)
            return Reassembled(slot, out datagram, out whole, out next, out nextOffset, out nameField);
        Ip6Counter reason = verdict switch
        {
            FragmentVerdict.Duplicate => Ip6Counter.FragmentsDuplicate,
            FragmentVerdict.AfterDiscard => Ip6Counter.FragmentsAfterDiscard,
            FragmentVerdict.Overlapping => Ip6Counter.ReassemblyOverlapping, // RFC 5722, no ICMP error
            FragmentVerdict.TooMany => Ip6Counter.ReassemblyTooManyFragments,
            FragmentVerdict.OutOfMemory => Ip6Counter.ReassemblyOutOfMemory,
            _ => Ip6Counter.FragmentsMalformed,
        };
        Refuse(slot, verdict);
        DropFragment(packet, reason);
        return false;
    }

    /// <summary>What a refused fragment does to its datagram: discarded for an overlap, a disagreement or too many pieces; forgotten when it held nothing yet.</summary>
    private void Refuse(int slot, FragmentVerdict verdict)
    {
        if (verdict is FragmentVerdict.Overlapping or FragmentVerdict.Inconsistent or FragmentVerdict.TooMany)
            _table.Discard(slot);
        else if (verdict == FragmentVerdict.OutOfMemory && _table[slot].Count == 0)
            _table.Remove(slot);
    }

    /// <summary>The last hole of an IPv4 datagram was filled: gathers it, and hands it to the owner of its flow or up.</summary>
    private bool Reassembled(int slot, out PacketBuffer datagram, out Ipv4Packet ip)
    {
        ip = default;
        ref ReassemblyEntry entry = ref _table[slot];
        int headerEnd = _table.Fragment(entry.First).DataStart; // the first fragment's header becomes the datagram's
        int totalLength = headerEnd - EthernetHeader + entry.Total;
        if (totalLength > ushort.MaxValue)
        {
            // Each fragment fit with its own header; the first's options make the whole too long.
            _counters.Count(IpCounter.FragmentsMalformed);
            _table.Discard(slot);
            datagram = PacketBuffer.None;
            return false;
        }
        datagram = Gather(slot, headerEnd, out bool chained);
        Span<byte> frame = _pool.Data(datagram);
        // The first fragment's header, whose lengths fit its buffer, becomes the datagram's.
        if (!Ipv4Packet.TryCreate(frame[EthernetHeader..], out Ipv4Packet header))
        {
            // Cannot be: the first fragment's lengths describe its buffer, which now holds more.
            _counters.Count(IpCounter.FragmentsMalformed);
            _packets.Drop(datagram);
            return false;
        }
        header.TotalLength = (ushort)totalLength;
        header.Flags &= ~Ipv4Flags.MoreFragments; // reserved and don't-fragment stay; more-fragments and the offset go
        header.FragmentOffset = 0;
        header.FillHeaderChecksum();
        Span<byte> whole = chained ? _packets.Linearize(datagram) : frame;
        Ipv4Packet.TryCreate(whole[EthernetHeader..], out ip);
        _counters.Count(IpCounter.Reassembled);
        return !(FlowKey.TryCreate(ip, out FlowKey key) && HandToFlowOwner(key, datagram));
    }

    /// <summary>
    /// The last hole of an IPv6 packet was filled: rebuilds it from the first fragment's
    /// unfragmentable part (RFC 8200 4.5: its fragment header removed, the next header taken from
    /// it) and the data, and hands it to the owner of its flow or up, to go on along its header chain.
    /// </summary>
    private bool Reassembled(int slot, out PacketBuffer datagram, out Ipv6Packet ip, out IpProtocol next, out int unfragmentable, out int nameField)
    {
        datagram = PacketBuffer.None;
        ip = default;
        next = default;
        ref ReassemblyEntry entry = ref _table[slot];
        PacketBuffer head = _table.Fragment(entry.First).Buffer;
        unfragmentable = _table.Fragment(entry.First).DataStart - EthernetHeader - FragmentHeader6;
        int payloadLength = unfragmentable - Ipv6Header + entry.Total;
        Span<byte> frame = _pool.Data(head);
        Span<byte> l3 = frame[EthernetHeader..];
        nameField = NameFieldOf(l3, unfragmentable);
        if (nameField < 0 || payloadLength > ushort.MaxValue)
        {
            _counters.Count(Ip6Counter.FragmentsMalformed);
            _table.Discard(slot);
            return false;
        }
        next = (IpProtocol)l3[unfragmentable];
        Ipv6Packet.SetNextHeaderAt(l3, nameField, next);
        // The packet's payload length, set while the first fragment's own lengths still describe
        // its buffer (with the fragment header in it); after the move they would not.
        if (!Ipv6Packet.TryCreate(l3, out Ipv6Packet first))
        {
            _counters.Count(Ip6Counter.FragmentsMalformed);
            _table.Discard(slot);
            return false;
        }
        first.PayloadLength = (ushort)payloadLength;
        // The fragment header goes: the headers in front of it move up over it.
        frame[..(EthernetHeader + unfragmentable)].CopyTo(frame[FragmentHeader6..]);
        _pool.TryTrimFront(head, FragmentHeader6);
        datagram = Gather(slot, EthernetHeader + unfragmentable, out bool chained);
        frame = _pool.Data(datagram);
        Span<byte> whole = chained ? _packets.Linearize(datagram) : frame;
        Ipv6Packet.TryCreate(whole[EthernetHeader..], out ip);
        _counters.Count(Ip6Counter.Reassembled);
        return !(FlowKey.TryCreate(ip, out FlowKey key) && HandToFlowOwner(key, datagram));
    }

    /// <summary>Where the field naming the header at <paramref name="target"/> sits, walking the extension headers before it; -1 when none ends there.</summary>
    private static int NameFieldOf(Span<byte> l3, int target)
    {
        int at = Ipv6Header, name = 6;
        while (at < target)
        {
            name = at;
            at += (l3[at + 1] + 1) * 8;
        }
        return at == target ? name : -1;
    }

    /// <summary>
    /// Takes the fragments of the whole datagram in <paramref name="slot"/> out of the table as one
    /// frame headed by the first fragment's buffer, whose first <paramref name="headerEnd"/> bytes
    /// are the datagram's headers: the other fragments' data copied behind them when the frame fits
    /// the buffer, else the other buffers linked behind it, their own headers trimmed.
    /// </summary>
    private PacketBuffer Gather(int slot, int headerEnd, out bool chained)
    {
        ref ReassemblyEntry entry = ref _table[slot];
        ref HeldFragment first = ref _table.Fragment(entry.First);
        PacketBuffer head = first.Buffer;
        int frameLength = headerEnd + entry.Total;
        Span<byte> room = _pool.Room(head);
        chained = frameLength > room.Length;
        PacketBuffer tail = head;
        int segments = 1;
        for (int index = first.Next; index >= 0; index = _table.Fragment(index).Next)
        {
            ref HeldFragment f = ref _table.Fragment(index);
            if (!chained || f.Length == 0)
            {
                if (!chained)
                    _pool.Data(f.Buffer).Slice(f.DataStart, f.Length).CopyTo(room[(headerEnd + f.Offset)..]);
                _packets.Consume(f.Buffer);
                continue;
            }
            _pool.TryTrimFront(f.Buffer, f.DataStart);
            ref BufferMetadata piece = ref _pool.Metadata(f.Buffer);
            piece.DataLength = (ushort)f.Length;
            piece.PacketLength = f.Length;
            _pool.Metadata(tail).Next = f.Buffer.Index;
            tail = f.Buffer;
            segments++;
        }
        ref BufferMetadata m = ref _pool.Metadata(head);
        m.DataLength = (ushort)(chained ? headerEnd + first.Length : frameLength);
        m.PacketLength = frameLength;
        m.Segments = (byte)segments;
        m.Offload = OffloadFlags.None; // what a driver said of the first fragment says nothing of the datagram
        _table.Remove(slot);
        return head;
    }

    /// <summary>
    /// Hands a reassembled datagram to the worker that owns its flow, when that is another one: its
    /// fragments were steered by addresses alone (only the first carries the ports), so a UDP or
    /// TCP datagram may have come together on a worker whose sockets are not its (a relay session,
    /// a connection). The owner takes it as a whole datagram from its ring. False when it stays here.
    /// </summary>
    private bool HandToFlowOwner(in FlowKey key, PacketBuffer datagram)
    {
        if (_context.FlowHash is not { } hash || key.Protocol is not (IpProtocol.Udp or IpProtocol.Tcp))
            return false;
        // Marked before it goes: the owner may take it from its ring at once.
        ref BufferMetadata m = ref _pool.Metadata(datagram);
        m.Offload |= OffloadFlags.Reassembled;
        if (_context.TryHandToOwner(key.Hash(hash), datagram))
            return true;
        m.Offload &= ~OffloadFlags.Reassembled;
        return false;
    }

    /// <summary>
    /// A datagram's time ran out: its fragments are dropped, and when the first one had come, its
    /// source hears of it (RFC 792 and RFC 1122 3.3.2; RFC 8200 4.5): time exceeded, code 1.
    /// </summary>
    public void TimedOut(long payload)
    {
        if (!_table.TryExpire(payload, out int slot))
            return;
        ref ReassemblyEntry entry = ref _table[slot];
        if (entry.First >= 0 && _table.Fragment(entry.First).Offset == 0)
        {
            NetInterface iface = _stack.Interfaces[entry.Port];
            Span<byte> l3 = _pool.Data(_table.Fragment(entry.First).Buffer)[EthernetHeader..];
            if (entry.Key.IsIpv6)
            {
                if (Ipv6Packet.TryCreate(l3, out Ipv6Packet ip6))
                    _icmp.SendError(iface, ip6, Icmpv6Type.TimeExceeded, 1, 0);
            }
            else if (Ipv4Packet.TryCreate(l3, out Ipv4Packet ip))
            {
                _icmp.SendError(iface, ip, Icmpv4Type.TimeExceeded, 1, 0);
            }
        }
        _table.Expire(slot);
    }

    private void DropFragment(PacketBuffer packet, IpCounter reason)
    {
        _counters.Count(reason);
        Drop(packet, IpCounter.FragmentsDropped);
    }

    private void DropFragment(PacketBuffer packet, Ip6Counter reason)
    {
        _counters.Count(reason);
        Drop(packet, Ip6Counter.FragmentsDropped);
    }

    private void Drop(PacketBuffer packet, IpCounter reason)
    {
        _counters.Count(reason);
        _packets.Drop(packet);
    }

    private void Drop(PacketBuffer packet, Ip6Counter reason)
    {
        _counters.Count(reason);
        _packets.Drop(packet);
    }
}
