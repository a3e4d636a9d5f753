using System.Runtime.CompilerServices;
using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Ports;
using Dataplane.Stack.Fragments;
using Dataplane.Stack.Ip;
using Dataplane.Stack.Link;
using Dataplane.Stack.Offload;
using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;

namespace Dataplane.Stack;

/// <summary>
/// The stack of one worker: a dispatcher over its layers, each of which owns its state and counts
/// its own counters. It reads the Ethernet header of every frame the worker owns and hands the
/// frame to the link layer (ARP) or to IPv4 or IPv6 input; what IP passes up as an
/// <see cref="IpDatagram"/> it hands to the transport of its protocol; and it runs the timers.
/// </summary>
/// <remarks>
/// The layers, bottom up, each calling only those below it (smoltcp's <c>iface</c> and
/// <c>socket</c> split):
/// <list type="bullet">
/// <item><see cref="WorkerPackets"/>: buffers (fresh frames, trimming, a chain's linear copy).</item>
/// <item>Link/ <see cref="LinkLayer"/>: Ethernet, ARP, neighbour discovery and DAD, the neighbour caches.</item>
/// <item>Ip/ <see cref="IpOutput"/> (routes, headers, fragmentation on output), <see cref="IcmpLayer"/>
/// (ICMP and ICMPv6), Fragments/ <see cref="Reassembler"/>, and the inputs and forwarding of
/// <see cref="Ipv4Layer"/> and <see cref="Ipv6Layer"/>.</item>
/// <item>Transport/ <see cref="UdpLayer"/>, its sockets and their apps, and Transport/Tcp/ <see cref="TcpLayer"/>. A
/// transport sees <see cref="IpDatagram"/> and <see cref="IpOutput"/>, never this class.</item>
/// </list>
/// Everything shared between workers is in <see cref="NetworkStack"/>.
/// </remarks>
internal sealed class StackWorker : IIcmpErrorSink
{
    /// <summary>
    /// The bytes of a chained frame that input makes contiguous in its first buffer before it looks:
    /// the Ethernet header, the longest IPv4 header, and room for IPv6 extension headers and the
    /// transport header behind them. A frame a driver spread over buffers is read through views of
    /// its first buffer; what lies behind them (payload) is walked as a chain.
    /// </summary>
    private const int HeadersInFirstBuffer = 256;

    private readonly NetworkStack _stack;
    private readonly WorkerContext _context;
    private readonly BufferPool _pool;
    private readonly WorkerPackets _packets;

    /// <summary>The worker's buffers (for tests: the linear copies made).</summary>
    internal WorkerPackets Packets => _packets;
    private readonly LinkLayer _link;
    private readonly IpOutput _output;
    private readonly IcmpLayer _icmp;
    private readonly Reassembler _reassembly;
    private readonly Ipv4Layer _ipv4;
    private readonly Ipv6Layer _ipv6;
    private readonly UdpLayer _udp;
    private readonly TcpLayer _tcp;

    /// <summary>The stack of worker <paramref name="context"/>; worker 0 also runs the shared chores (announcements, neighbour sweeps).</summary>
    public StackWorker(NetworkStack stack, WorkerContext context)
    {
        _stack = stack;
        _context = context;
        _pool = context.Pool;
        _packets = new WorkerPackets(context);
        _link = new LinkLayer(stack, _packets, Counters);
        _output = new IpOutput(stack, _packets, _link, Counters);
        _icmp = new IcmpLayer(_packets, _output, _link, Counters);
        _reassembly = new Reassembler(stack, _packets, _icmp, Counters, (int)StackTimer.Reassembly);
        _ipv4 = new Ipv4Layer(stack, _packets, _output, _icmp, _reassembly, Counters);
        _ipv6 = new Ipv6Layer(stack, _packets, _output, _icmp, _reassembly, Counters);
        _udp = new UdpLayer(_packets, _output, _icmp, Counters);
        _icmp.ErrorSink = this;
        _tcp = new TcpLayer(_packets, _output, Counters, (stack.TcpConnections + Math.Max(1, context.FlowOwners?.WorkerCount ?? 1) - 1) / Math.Max(1, context.FlowOwners?.WorkerCount ?? 1), stack.TcpBuffer, stack.TcpCongestion);
        stack.AddUdpTable(_udp.Sockets); // for netstat
        stack.AddTcpTable(_tcp.Sockets);
        context.TurnWork = _tcp.Sockets.TurnQueue; // connections past their share of a busy turn go on at the next
        context.ReceiveMerger = new Offload.SoftLro(context, Counters); // software LRO, for the queues whose port has it on
        if (context.Index == 0)
            _link.ScheduleChores();
    }

    /// <summary>This worker's counters.</summary>
    public StackCounters Counters { get; } = new();

    /// <summary>The shared state.</summary>
    public NetworkStack Stack => _stack;

    /// <summary>The worker this runs on.</summary>
    public WorkerContext Context => _context;

    /// <summary>This worker's UDP sockets.</summary>
    public UdpSocketTable Udp => _udp.Sockets;

    /// <summary>This worker's TCP sockets.</summary>
    public TcpSocketTable Tcp => _tcp.Sockets;

    /// <summary>The datagrams this worker holds in reassembly.</summary>
    internal ReassemblyTable Reassembly => _reassembly.Table;

    /// <summary>Handles one received frame of a driver not known here (a test's, the simulation's) to completion.</summary>
    public void Input(int port, PacketBuffer packet) => Input<UnknownDriverFacts>(port, packet);

    /// <summary>
    /// Handles one received frame to completion, compiled for <typeparamref name="TFacts"/>, what its
    /// driver promises of its offloads: a check the driver's facts answer is a constant here.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Input<TFacts>(int port, PacketBuffer packet) where TFacts : struct, IReceiveFacts
    {
        ref BufferMetadata m = ref _pool.Metadata(packet);
        NetInterface iface = _stack.Interfaces[port];
        if (m.Segments > 1 && !FrameChain.TryPullUp(_context.Cache, packet, Math.Min(m.PacketLength, HeadersInFirstBuffer)))
        {
            Drop(packet, EtherCounter.Chained);
            return;
        }
        if (ReceiveFacts.MayBeSuperFrame<TFacts>(m) && !SuperFrameInput<TFacts>(iface, port, packet))
            return;
        Span<byte> frame = _pool.Data(packet);
        if (!EthernetFrame.TryCreate(frame, out EthernetFrame eth))
        {
            Drop(packet, EtherCounter.TooShort);
            return;
        }
        MacAddress destination = eth.Destination;
        ulong ours = iface.MacBits;
        if (!destination.IsMulticast && destination.Bits != ours)
        {
            Drop(packet, EtherCounter.NotForUs);
            return;
        }
        if (eth.Source.Bits == ours)
        {
            Drop(packet, EtherCounter.FromSelf);
            return;
        }
        // One datagram for both families, filled only when it goes up: a forwarded packet pays for
        // clearing it once, in the frame's clearing that its references need, not again here.
        Unsafe.SkipInit(out IpDatagram datagram);
        switch (eth.EtherType)
        {
            case EtherType.Ipv4:
                if (_ipv4.Input<TFacts>(iface, packet, frame, destination.IsMulticast, ref datagram))
                    Deliver(datagram);
                break;
            case EtherType.Ipv6:
                if (_ipv6.Input<TFacts>(iface, packet, frame, destination.IsMulticast, ref datagram))
                    Deliver(datagram);
                break;
            case EtherType.Arp:
                _link.ArpInput(iface, packet, frame);
                break;
            default:
                Drop(packet, EtherCounter.UnknownType);
                break;
        }
    }

    /// <summary>
    /// Takes a received super-frame (a peer's TSO through a tap, the kernel's GRO under afpacket):
    /// checks what its metadata claims against its headers before anything trusts it (dropped and
    /// counted under offload when they disagree), then either passes it on (true: a unicast packet
    /// for another host, forwarded whole or cut by IP forwarding, Ip/IpOutput.SuperFrames.cs) or
    /// cuts it here and hands each segment to the normal input (false): a UDP super-frame for this
    /// host, whose UDP takes one datagram at a time, or one from a port whose LRO is switched off. A
    /// TCP super-frame for this host goes on whole (true): TCP takes it as the segments it holds.
    /// The one place where super-frames for this host are cut.
    /// </summary>
    private bool SuperFrameInput<TFacts>(NetInterface iface, int port, PacketBuffer packet) where TFacts : struct, IReceiveFacts
    {
        Counters.Count(OffloadCounter.Received);
        OffloadFlags checksums = ReceiveFacts.ChecksumState<TFacts>(_pool.Metadata(packet));
        if (!SuperFrame.TryRead(_context.Cache, packet, checksums, out SuperFrame layout, out OffloadCounter reason))
        {
            Counters.Count(reason);
            _packets.Drop(packet);
            return false;
        }
        if ((iface.Capabilities & PortCapabilities.Lro) == 0)
        {
            Counters.Count(OffloadCounter.LroOff); // `lro off` on this port: the stack sees MTU-sized packets only
        }
        else if (IsForAnother(packet, layout))
        {
            return true;
        }
        else if (layout.IsTcp)
        {
            // TCP takes a super-frame whole, as Linux's TCP takes a GRO skb: one segment of many
            // MSS, acknowledged at once (TcpSocket.SegmentsIn), its data queued in the chain it came in.
            Counters.Count(OffloadCounter.TakenWhole);
            if ((checksums & (OffloadFlags.L4ChecksumVerified | OffloadFlags.L4ChecksumPartial)) == 0)
                _pool.Metadata(packet).Offload |= OffloadFlags.L4ChecksumVerified; // TryRead summed it
            return true;
        }
        else
        {
            Counters.Count(OffloadCounter.ForUs);
        }
        // The data is intact (verified by the driver or by TryRead): each segment goes up with its
        // checksum partial, as a kernel hands up CHECKSUM_PARTIAL, and the transport trusts it.
        var chop = new Segmenter(_context.Cache, packet, layout, partial: true);
        while (chop.TryNext(out PacketBuffer piece))
            Input<UnknownDriverFacts>(port, piece);
        chop.Finish(Counters);
        return false;
    }

    /// <summary>True when the super-frame <paramref name="layout"/> describes is unicast to an address not ours: IP forwarding's to judge.</summary>
    private bool IsForAnother(PacketBuffer packet, in SuperFrame layout)
    {
        Span<byte> l3 = _pool.Data(packet)[WorkerPackets.EthernetHeader..];
        if (layout.IsIpv6)
        {
            Ipv6Packet.TryCreate(l3, layout.NetworkLength, out Ipv6Packet ip6, out _);
            Ipv6Address destination6 = ip6.Destination;
            return !destination6.IsMulticast && _stack.Owner(destination6) is null;
        }
        Ipv4Packet.TryCreate(l3, layout.NetworkLength, out Ipv4Packet ip, out _);
        Ipv4Address destination = ip.Destination;
        return !destination.IsMulticast && !destination.IsBroadcast && _stack.Local.Find(destination) == 0;
    }

    /// <summary>Runs one of the stack's timers.</summary>
    public void OnTimer(in ExpiredTimer timer)
    {
        switch ((StackTimer)timer.Kind)
        {
            case StackTimer.Announce:
                _link.Announce((int)timer.Payload);
                break;
            case StackTimer.DadDone:
                _link.CompleteDad();
                break;
            case StackTimer.NeighborSweep:
                _link.OnSweepTimer();
                break;
            case StackTimer.Reassembly:
                _reassembly.TimedOut(timer.Payload);
                break;
            case StackTimer.UdpApp:
                _udp.OnAppTimer(timer.Payload);
                break;
            case StackTimer.TcpConnection:
                _tcp.Sockets.OnTimer(timer.Payload);
                break;
            case StackTimer.TcpApp:
                _tcp.Sockets.OnAppTimer(timer.Payload);
                break;
        }
    }

    /// <summary>
    /// Hands a datagram for this host to the transport of its protocol, or answers that there is
    /// none (RFC 1122 3.2.2.1: protocol unreachable; RFC 8200 4: a parameter problem at the field
    /// that named it). The one place that knows which transports there are.
    /// </summary>
    private void Deliver(in IpDatagram datagram)
    {
        bool known = datagram.Protocol is IpProtocol.Udp or IpProtocol.Tcp;
        if (datagram.IsIpv6)
            Counters.Count(known ? Ip6Counter.Delivered : Ip6Counter.NoProtocol);
        else
            Counters.Count(known ? IpCounter.Delivered : IpCounter.NoProtocol);
        switch (datagram.Protocol)
        {
            case IpProtocol.Udp:
                _udp.Input(datagram);
                break;
            case IpProtocol.Tcp:
                _tcp.Input(datagram);
                break;
            default:
                _icmp.SendUnreachable(datagram, TransportUnreachable.Protocol);
                _packets.Drop(datagram.Packet);
                break;
        }
    }

    /// <summary>An ICMP error about a datagram we sent goes to the transport that sent it (RFC 1122 3.2.2.1, 4.2.3.9).</summary>
    void IIcmpErrorSink.OnIcmpError(in IcmpError error)
    {
        if (error.Protocol == IpProtocol.Tcp)
            _tcp.IcmpError(error);
    }

    /// <summary>Releases <paramref name="packet"/> and counts the drop under <paramref name="reason"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // a refusal: out of the receive loop
    private void Drop(PacketBuffer packet, EtherCounter reason)
    {
        Counters.Count(reason);
        _packets.Drop(packet);
    }
}
