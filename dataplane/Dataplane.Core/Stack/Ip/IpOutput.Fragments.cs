using Dataplane.Buffers;
using Dataplane.Stack.Routing;
using Dataplane.Wire;

namespace Dataplane.Stack.Ip;

// Fragments on output: IPv4 fragmentation of forwarded and local datagrams (RFC 791 3.2, RFC 1812
// 5.2.6), IPv6 source fragmentation (RFC 8200 4.5), and the output of datagrams that sit in a
// linear copy rather than in their buffers (replies built in place from a reassembled request too
// large for one buffer). Each fragment goes out in a fresh buffer, or a chain of them when the MTU
// is larger than a buffer; the datagram is read through its view, so it may sit anywhere.
// Reassembly is in Fragments/Reassembler.cs.
internal sealed partial class IpOutput
{
    /// <summary>The longest IPv4 options field; the options copied into later fragments fit it too.</summary>
    private const int MaxIpv4Options = 40;

    private const int FragmentHeader6 = Ipv6FragmentHeader.FixedLength;

    /// <summary>
    /// Sends <paramref name="ip"/>, larger than <paramref name="output"/>'s MTU and without
    /// don't-fragment, in fragments (RFC 791 3.2): data cut at 8-byte boundaries, the first fragment
    /// with the whole header, the later ones with only the options whose copy bit is set, the
    /// original's more-fragments flag on the last. Releases <paramref name="packet"/>.
    /// </summary>
    public void Ipv4Fragment(NetInterface output, Ipv4Address nextHop, PacketBuffer packet, Ipv4Packet ip)
    {
        Span<byte> copied = stackalloc byte[MaxIpv4Options];
        int headerLength = ip.HeaderLength;
        int laterHeaderLength = Ipv4Header + CopiedOptions(ip, copied);
        int firstData = (output.Mtu - headerLength) & ~7;
        int laterData = (output.Mtu - laterHeaderLength) & ~7;
        if (firstData < 8 || laterData < 8)
        {
            // An MTU below RFC 791's 68 bytes cannot carry a fragment.
            Drop(packet, IpCounter.CantFragment);
            return;
        }
        int payloadLength = ip.PacketLength - headerLength;
        int baseOffset = ip.FragmentOffset; // a fragment forwarded on and cut again keeps its place
        bool moreAfterLast = ip.HasFlags(Ipv4Flags.MoreFragments);
        // Every fragment's header: the original's, with its own lengths, flags and offset (the reserved flag passed on as it came).
        var template = new Ipv4Packet.Repr
        {
            Dscp = ip.Dscp,
            Ecn = ip.Ecn,
            Identification = ip.Identification,
            TimeToLive = ip.TimeToLive,
            Protocol = ip.Protocol,
            Source = ip.Source,
            Destination = ip.Destination,
        };
        Ipv4Flags reserved = ip.Flags & Ipv4Flags.Reserved;
        _counters.Count(IpCounter.Fragmented);
        for (int at = 0; at < payloadLength;)
        {
            bool first = at == 0;
            int header = first ? headerLength : laterHeaderLength;
            int size = Math.Min(first ? firstData : laterData, payloadLength - at);
            bool last = at + size == payloadLength;
            if (!FrameChain.TryAllocate(_context.Cache, EthernetHeader + header + size, out PacketBuffer fragment))
            {
                // The rest cannot be sent; the receiver times the datagram out.
                _counters.Count(IpCounter.NoBuffer);
                break;
            }
            Span<byte> frame = _pool.Data(fragment);
            WorkerPackets.SetEtherType(frame, EtherType.Ipv4);
            Span<byte> h = frame.Slice(EthernetHeader, header);
            // The options first, so that the header checksum the Repr fills covers them.
            (first ? ip.Options : copied[..(header - Ipv4Header)]).CopyTo(h[Ipv4Header..]);
            (template with
            {
                Ihl = (byte)(header / 4),
                TotalLength = (ushort)(header + size),
                Flags = reserved | (last && !moreAfterLast ? Ipv4Flags.None : Ipv4Flags.MoreFragments),
                FragmentOffset = (ushort)((baseOffset + (at >> 3)) & 0x1FFF),
            }).Emit(h);
            CopyData(packet, ip.IsContiguous ? ip.Payload : default, EthernetHeader + headerLength, at, fragment, EthernetHeader + header, size);
            _counters.Count(IpCounter.FragmentsCreated);
            Ipv4SendTo(output, nextHop, fragment);
            at += size;
        }
        _packets.Consume(packet);
    }

    /// <summary>
    /// Writes the options of <paramref name="ip"/> whose copy bit is set (RFC 791 3.1: security,
    /// source routes, stream identifier) into <paramref name="into"/>, padded with end-of-list to a
    /// multiple of 4; returns their length.
    /// </summary>
    private static int CopiedOptions(Ipv4Packet ip, Span<byte> into)
    {
        if (ip.HeaderLength == Ipv4Header)
            return 0;
        int length = 0;
        foreach (WireOption option in ip.EnumerateOptions())
        {
            if ((option.Type & 0x80) == 0)
                continue;
            option.Raw.CopyTo(into[length..]);
            length += option.Raw.Length;
        }
        int padded = (length + 3) & ~3;
        into[length..padded].Clear();
        return padded;
    }

    /// <summary>
    /// Sends <paramref name="ip"/>, a packet this host built larger than <paramref name="output"/>'s
    /// MTU, in fragments (RFC 8200 4.5): a fragment header after the unfragmentable part, a fresh
    /// identification, data cut at 8-byte boundaries to fit the MTU. Releases <paramref name="packet"/>.
    /// </summary>
    public void Ipv6Fragment(NetInterface output, in Ipv6Address nextHop, PacketBuffer packet, Ipv6Packet ip)
    {
        int unfragmentable = UnfragmentablePart(ip, out int nameField);
        int data = (output.Mtu - unfragmentable - FragmentHeader6) & ~7;
        if (data < 8 || EthernetHeader + unfragmentable + FragmentHeader6 > _pool.DataRoom)
        {
            Drop(packet, Ip6Counter.TooBig);
            return;
        }
        int fragmentable = ip.PacketLength - unfragmentable;
        byte next = ip.Buffer[nameField];
        uint identification = _nextId6++;
        var template = new Ipv6Packet.Repr
        {
            TrafficClass = ip.TrafficClass,
            FlowLabel = ip.FlowLabel,
            NextHeader = ip.NextHeader,
            HopLimit = ip.HopLimit,
            Source = ip.Source,
            Destination = ip.Destination,
        };
        _counters.Count(Ip6Counter.Fragmented);
        for (int at = 0; at < fragmentable;)
        {
            int size = Math.Min(data, fragmentable - at);
            bool last = at + size == fragmentable;
            int length = unfragmentable + FragmentHeader6 + size;
            if (!FrameChain.TryAllocate(_context.Cache, EthernetHeader + length, out PacketBuffer fragment))
            {
                _counters.Count(Ip6Counter.NoBuffer);
                break;
            }
            Span<byte> frame = _pool.Data(fragment);
            WorkerPackets.SetEtherType(frame, EtherType.Ipv6);
            Span<byte> l3 = frame[EthernetHeader..];
            ip.Buffer[..unfragmentable].CopyTo(l3);
            (template with { PayloadLength = (ushort)(length - Ipv6Header) }).Emit(l3); // the fixed header, before the extension headers copied behind it
            Ipv6Packet.SetNextHeaderAt(l3, nameField, IpProtocol.Ipv6Fragment); // the next-header field of the last unfragmentable header
            new Ipv6FragmentHeader.Repr
            {
                NextHeader = (IpProtocol)next,
                FragmentOffset = (ushort)(at >> 3),
                MoreFragments = !last,
                Identification = identification,
            }.Emit(l3.Slice(unfragmentable, FragmentHeader6));
            CopyData(packet, ip.IsContiguous ? ip.Buffer[unfragmentable..ip.PacketLength] : default, EthernetHeader + unfragmentable, at, fragment, EthernetHeader + unfragmentable + FragmentHeader6, size);
            _counters.Count(Ip6Counter.FragmentsCreated);
            Ipv6SendTo(output, nextHop, fragment);
            at += size;
        }
        _packets.Consume(packet);
    }

    /// <summary>
    /// The length of the unfragmentable part of <paramref name="ip"/> (RFC 8200 4.5): the IPv6
    /// header and the extension headers up to and including a routing header, else a hop-by-hop
    /// header (destination options before a routing header go with it). <paramref name="nameField"/>
    /// is where the field naming the first fragmentable header sits.
    /// </summary>
    private static int UnfragmentablePart(Ipv6Packet ip, out int nameField)
    {
        Span<byte> b = ip.Buffer;
        int packetEnd = Math.Min(ip.PacketLength, b.Length); // the headers lie in the first buffer of a chain
        int end = Ipv6Header;
        nameField = 6;
        int at = Ipv6Header;
        IpProtocol next = ip.NextHeader;
        while ((next is IpProtocol.HopByHop or IpProtocol.Ipv6Routing or IpProtocol.Ipv6DestinationOptions) && at + 2 <= packetEnd)
        {
            int length = (b[at + 1] + 1) * 8;
            if (at + length > packetEnd)
                break;
            if (next != IpProtocol.Ipv6DestinationOptions)
            {
                end = at + length;
                nameField = at;
            }
            next = (IpProtocol)b[at];
            at += length;
        }
        return end;
    }

    /// <summary>
    /// Sends an IPv4 datagram this host built in a linear copy (<paramref name="ip"/> lies outside
    /// <paramref name="packet"/>, a reassembled request's chain): routed, fragmented when larger than
    /// the MTU, else copied into a fresh frame. Releases <paramref name="packet"/>.
    /// </summary>
    public void Ipv4OutputLinear(PacketBuffer packet, Ipv4Packet ip)
    {
        Ipv4Address destination = ip.Destination;
        if (!_stack.Routes.Current.TryLookup(destination, out NextHop4 hop))
        {
            Drop(packet, IpCounter.NoRoute);
            return;
        }
        NetInterface output = _stack.Interfaces[hop.Interface];
        Ipv4Address nextHop = hop.IsDirect ? destination : hop.Gateway;
        _counters.Count(IpCounter.LocalOut);
        if (ip.PacketLength > output.Mtu)
        {
            if (ip.HasFlags(Ipv4Flags.DontFragment))
                Drop(packet, IpCounter.CantFragment);
            else
                Ipv4Fragment(output, nextHop, packet, ip);
            return;
        }
        if (!TryCopyFrame(ip.Buffer[..ip.PacketLength], EtherType.Ipv4, out PacketBuffer frame))
        {
            Drop(packet, IpCounter.NoBuffer);
            return;
        }
        _packets.Consume(packet);
        Ipv4SendTo(output, nextHop, frame);
    }

    /// <summary>The IPv6 counterpart of <see cref="Ipv4OutputLinear"/>; link-scoped destinations leave by <paramref name="scope"/>.</summary>
    public void Ipv6OutputLinear(PacketBuffer packet, Ipv6Packet ip, NetInterface? scope)
    {
        if (!TryRoute6(ip.Destination, scope, out NetInterface output, out Ipv6Address nextHop))
        {
            Drop(packet, Ip6Counter.NoRoute);
            return;
        }
        _counters.Count(Ip6Counter.LocalOut);
        if (ip.PacketLength > output.Mtu)
        {
            Ipv6Fragment(output, nextHop, packet, ip);
            return;
        }
        if (!TryCopyFrame(ip.Buffer[..ip.PacketLength], EtherType.Ipv6, out PacketBuffer frame))
        {
            Drop(packet, Ip6Counter.NoBuffer);
            return;
        }
        _packets.Consume(packet);
        Ipv6SendTo(output, nextHop, frame);
    }

    /// <summary>A fresh frame (one buffer or a chain) holding <paramref name="l3"/> after an Ethernet header of <paramref name="type"/>.</summary>
    private bool TryCopyFrame(ReadOnlySpan<byte> l3, EtherType type, out PacketBuffer frame)
    {
        if (!FrameChain.TryAllocate(_context.Cache, EthernetHeader + l3.Length, out frame))
            return false;
        WorkerPackets.SetEtherType(_pool.Data(frame), type);
        FrameChain.Write(_pool, frame, EthernetHeader, l3);
        return true;
    }

    /// <summary>
    /// Copies <paramref name="size"/> bytes of a datagram's data, from <paramref name="at"/> in it,
    /// into a fragment at <paramref name="into"/>: from <paramref name="contiguous"/> when the
    /// datagram lies in one span (a buffer, or a linear copy), else from its chain, where the data
    /// starts at frame offset <paramref name="dataStart"/>.
    /// </summary>
    private void CopyData(PacketBuffer packet, ReadOnlySpan<byte> contiguous, int dataStart, int at, PacketBuffer fragment, int into, int size)
    {
        if (!contiguous.IsEmpty)
            FrameChain.Write(_pool, fragment, into, contiguous.Slice(at, size));
        else
            FrameChain.Copy(_pool, packet, dataStart + at, fragment, into, size);
    }
}
