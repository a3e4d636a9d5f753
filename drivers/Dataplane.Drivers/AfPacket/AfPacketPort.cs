using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;
using Dataplane.Wire;

namespace Dataplane.Drivers.AfPacket;

/// <summary>
/// The <c>afpacket</c> driver: an existing Linux interface (a veth end, a NIC the kernel keeps)
/// used through AF_PACKET sockets with rings mapped into the process (packet(7), the
/// kernel's Documentation/networking/packet_mmap.rst). One socket per queue, bound to the interface;
/// the queues form one PACKET_FANOUT group, so the kernel spreads the flows over them as a NIC's
/// RSS would: by the engine's own flow hash and owners (<see cref="HostFlowSteering"/>, a fanout
/// program), or by the kernel's hash where the program cannot be loaded. Frames carry a virtio-net header (PACKET_VNET_HDR) for checksum and
/// segmentation offload state. The interface is promiscuous while the port is open.
/// </summary>
internal sealed class AfPacketPort : IPort, IFlowSteering
{
    /// <summary>How many fanout group ids to try when another group (another port, another process) holds one.</summary>
    internal const int FanoutAttempts = 64;

    private readonly AfPacketChannel[] _channels;
    private readonly bool _tso;
    private readonly int _mtuBefore;
    private PacketSocket? _promiscuous;
    private bool _steered; // the fanout group places flows by a FlowSteeringProgram
    private Action<string>? _log;
    private bool _disposed;

    private AfPacketPort(string name, string interfaceName, int interfaceIndex, MacAddress mac, AfPacketChannel[] channels, ushort fanoutGroup, bool tso, int mtuBefore)
    {
        _tso = tso;
        _mtuBefore = mtuBefore;
        Name = name;
        InterfaceName = interfaceName;
        InterfaceIndex = interfaceIndex;
        Mac = mac;
        _channels = channels;
        FanoutGroup = fanoutGroup;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public string Driver => "afpacket";

    /// <summary>The Linux interface the port uses.</summary>
    public string InterfaceName { get; }

    /// <summary>Its interface index.</summary>
    public int InterfaceIndex { get; }

    /// <summary>The PACKET_FANOUT group id the queues share.</summary>
    public ushort FanoutGroup { get; }

    /// <inheritdoc/>
    public int QueueCount => _channels.Length;

    /// <summary>How the queues share the flows, with more than one: by the engine's placement or by the kernel's hash.</summary>
    public string? Mode => _channels.Length < 2 ? null : _steered ? HostFlowSteering.SteeredMode : HostFlowSteering.KernelHashMode;

    /// <summary>
    /// Why the fanout group places flows by the kernel's hash rather than the engine's (the program
    /// could not be loaded); null when it does not, or with one queue.
    /// </summary>
    public string? SteeringProblem { get; private set; }

    /// <summary>The interface's hardware address, read when the port was opened.</summary>
    public MacAddress Mac { get; }

    /// <summary>The interface's MTU now (SIOCGIFMTU).</summary>
    public int Mtu => LinkControl.GetMtu(InterfaceName);

    /// <summary>IFF_RUNNING now: the interface is up and has carrier (for a veth: its peer is up too).</summary>
    public bool LinkUp
    {
        get
        {
            try
            {
                return (LinkControl.GetFlags(InterfaceName) & InterfaceFlags.Running) != 0;
            }
            catch (NativeException)
            {
                return false; // the interface is gone
            }
        }
    }

    /// <summary>
    /// Checksums arrive verified or partial and may leave partial (the virtio-net header says which);
    /// and a veth peer's TSO super-frames arrive whole,
    /// which is LRO as far as the stack can tell. Segmentation on the way out (TSO) when the port was
    /// asked for it: a super-frame leaves whole by sendmsg with its gso_type and gso_size, and the
    /// kernel segments it in software (GSO) or hands it whole to a device that can (veth does, so
    /// the peer's stack takes it as one).
    /// </summary>
    public PortCapabilities Capabilities =>
        PortCapabilities.ReceiveChecksum | PortCapabilities.TransmitChecksum | PortCapabilities.Lro
        | (_tso ? PortCapabilities.Tso : PortCapabilities.None)
        | (_channels.Length > 1 ? PortCapabilities.MultiQueue : PortCapabilities.None);

    /// <summary>Whether the port was asked for TSO (<c>set tso on</c>).</summary>
    public bool Tso => _tso;

    /// <summary>Whether the port holds the interface in promiscuous mode.</summary>
    public bool Promiscuous => _promiscuous is not null;

    /// <inheritdoc/>
    public QueueCounters Counters(int queue) => Channel(queue).Counters;

    /// <summary>
    /// Opens port <paramref name="name"/> on the interface <paramref name="interfaceName"/> with
    /// <paramref name="queues"/> queues; <paramref name="portIndex"/> is written into each received
    /// frame's metadata. <paramref name="tso"/>: the port offers TSO (<see cref="Capabilities"/>).
    /// <paramref name="mtu"/>, when given, becomes the interface's MTU (SIOCSIFMTU; the kernel
    /// refuses a frame longer than it that is not a super-frame, af_packet.c packet_snd), and the
    /// MTU it had comes back when the port is disposed. Brings the interface up (a packet socket on
    /// a down interface receives nothing and cannot join a fanout group) and makes it promiscuous.
    /// Throws <see cref="NativeException"/> naming the port and the interface when it cannot, with
    /// nothing left open and the MTU as it was. With more than one queue the fanout group places
    /// flows as an engine of as many workers would (<see cref="SteerFlows"/> replaces that with the
    /// engine's own placement); when the program cannot be loaded, by the kernel's hash, and
    /// <paramref name="log"/> is told why.
    /// </summary>
    public static AfPacketPort Open(string name, string interfaceName, int queues = 1, ushort portIndex = 0, bool tso = false, int? mtu = null,
        Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(queues, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(queues, ushort.MaxValue);
        string where = $"port {name}: afpacket on interface {interfaceName}";
        bool exists;
        try
        {
            exists = LinkControl.Exists(interfaceName);
        }
        catch (ArgumentException e)
        {
            throw new NativeException($"{where}: {e.Message}", e);
        }
        if (!exists)
            throw new NativeException($"{where}: no such interface in this network namespace");

        var channels = new List<AfPacketChannel>(queues);
        PacketSocket? promiscuous = null;
        int mtuBefore = 0;
        try
        {
            int index = LinkControl.IndexOf(interfaceName);
            MacAddress mac = new(LinkControl.GetHardwareAddress(interfaceName));
            int before = LinkControl.GetMtu(interfaceName);
            if (mtu is int wanted && wanted != before)
            {
                SetMtu(interfaceName, wanted);
                mtuBefore = before;
            }
            LinkControl.SetUp(interfaceName, true);
            var geometry = AfPacketGeometry.ForMtu(LinkControl.GetMtu(interfaceName));
            for (int q = 0; q < queues; q++)
                channels.Add(AfPacketChannel.Open(index, geometry, portIndex, (ushort)q));
            string? problem = null;
            using FlowSteeringProgram? steering = queues > 1 ? HostFlowSteering.TryLoadDefault(queues, out problem) : null;
            ushort group = JoinFanout(channels, index, steering is null ? PacketFanoutMode.Hash : PacketFanoutMode.Ebpf);
            if (steering is not null)
                channels[0].Socket.SetFanoutProgram(steering.Descriptor);
            else if (problem is not null)
                log?.Invoke($"port {name}: flows are spread over the queues by the kernel's hash, and handed between workers: {problem}");
            promiscuous = HoldPromiscuous(index);
            return new AfPacketPort(name, interfaceName, index, mac, [.. channels], group, tso, mtuBefore)
            {
                _promiscuous = promiscuous,
                _log = log,
                _steered = steering is not null,
                SteeringProblem = problem,
            };
        }
        catch (Exception e)
        {
            promiscuous?.Dispose();
            foreach (AfPacketChannel channel in channels)
                channel.Dispose();
            RestoreMtu(interfaceName, mtuBefore);
            if (e is not NativeException native)
                throw;
            string hint = native.Errno.Number is Errno.EPERM or Errno.EACCES
                ? " (packet sockets need CAP_NET_RAW, and bringing the interface up CAP_NET_ADMIN: run as root)"
                : "";
            throw new NativeException($"{where}: {native.Message}{hint}", native);
        }
    }

    /// <summary>
    /// The engine's placement (<see cref="IFlowSteering"/>): the fanout group's program is replaced by
    /// one for <paramref name="key"/> and <paramref name="owners"/>. Nothing changes for a port of
    /// one queue or one placed by the kernel's hash; if the new program cannot be loaded, the one set
    /// at the open stays, with the reason in <see cref="SteeringProblem"/>.
    /// </summary>
    public void SteerFlows(ReadOnlySpan<byte> key, Engine.RssIndirectionTable owners)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_steered)
            return;
        using FlowSteeringProgram? steering = HostFlowSteering.TryLoad(key, owners, out string? problem);
        if (steering is not null)
        {
            try
            {
                _channels[0].Socket.SetFanoutProgram(steering.Descriptor);
                SteeringProblem = null;
                return;
            }
            catch (NativeException e)
            {
                problem = e.Message;
            }
        }
        SteeringProblem = problem;
        _log?.Invoke($"port {Name}: the engine's placement could not be given to the fanout group, which places flows as an engine of {_channels.Length} workers would: {problem}");
    }

    /// <summary>The data path of queue <paramref name="queue"/>, receiving into and releasing to <paramref name="cache"/> (its worker's).</summary>
    public AfPacketQueue Queue(int queue, BufferCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        return new AfPacketQueue(Channel(queue), cache);
    }

    /// <summary>The descriptor of queue <paramref name="queue"/>'s socket: readable when a receive slot is ready, for epoll.</summary>
    public FileDescriptor Descriptor(int queue) => Channel(queue).Socket.Descriptor;

    /// <summary>
    /// Starts the queues. What the rings gathered while the port was stopped (or before its first
    /// start) is handed back to the kernel unread. Control path, with the workers not yet running.
    /// </summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (AfPacketChannel channel in _channels)
        {
            channel.Receiver.Discard();
            channel.Started = true;
        }
    }

    /// <summary>Stops the queues and adds what the kernel dropped for want of ring space to their ReceiveDrops. With the workers stopped.</summary>
    public void Stop()
    {
        foreach (AfPacketChannel channel in _channels)
        {
            if (!channel.Started)
                continue;
            channel.Started = false;
            channel.Receiver.FoldKernelDrops();
        }
    }

    /// <summary>
    /// Holds or lets go of the interface's promiscuous mode (PACKET_MR_PROMISC), through a membership
    /// on a socket of its own, so that turning it off is closing that socket.
    /// </summary>
    public void SetPromiscuous(bool on)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (on && _promiscuous is null)
        {
            _promiscuous = HoldPromiscuous(InterfaceIndex);
        }
        else if (!on && _promiscuous is not null)
        {
            _promiscuous.Dispose();
            _promiscuous = null;
        }
    }

    /// <summary>Stops the port, closes its sockets and unmaps its rings; the interface is given back as it was (its MTU too), but up.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        Stop();
        _disposed = true;
        _promiscuous?.Dispose();
        _promiscuous = null;
        foreach (AfPacketChannel channel in _channels)
            channel.Dispose();
        RestoreMtu(InterfaceName, _mtuBefore);
    }

    /// <summary>SIOCSIFMTU; EINVAL says the value is outside the device's range (dev_validate_mtu).</summary>
    private static void SetMtu(string interfaceName, int mtu)
    {
        try
        {
            LinkControl.SetMtu(interfaceName, mtu);
        }
        catch (NativeException e) when (e.Errno.Number == Errno.EINVAL)
        {
            throw new NativeException($"cannot set the MTU to {mtu}, outside what the device takes (a veth takes 68 to 65535)", e.Errno);
        }
    }

    /// <summary>Gives the interface back the MTU <paramref name="mtu"/> it had (0: it was not changed); an interface gone meanwhile is left alone.</summary>
    private static void RestoreMtu(string interfaceName, int mtu)
    {
        if (mtu == 0)
            return;
        try
        {
            LinkControl.SetMtu(interfaceName, mtu);
        }
        catch (NativeException)
        {
            // the interface is gone (its namespace was removed, the veth pair deleted)
        }
    }

    private AfPacketChannel Channel(int queue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)queue, (uint)_channels.Length, nameof(queue));
        return _channels[queue];
    }

    /// <summary>
    /// Joins every queue's socket to one PACKET_FANOUT group in <paramref name="mode"/>: by a program
    /// (<see cref="PacketFanoutMode.Ebpf"/>, which sends a socket index: the sockets join in queue
    /// order, so index q is queue q) or by the kernel's hash. Not with DEFRAG: the
    /// kernel would reassemble IPv4 fragments before we see them, so a router could not forward
    /// them as they came (a 3000-byte ping arrived as one chained 3042-byte frame and was dropped),
    /// and bad fragments would die in the kernel, uncounted. Without it the kernel hashes a
    /// fragment on its addresses alone, so the fragments of one datagram still share a queue.
    /// Group ids are per network namespace and
    /// a group is bound to one interface and mode, so the first socket looks for a free id, starting
    /// from one derived from the process and the interface; the others join the id it got.
    /// </summary>
    private static ushort JoinFanout(List<AfPacketChannel> channels, int interfaceIndex, PacketFanoutMode mode)
    {
        ushort group = FirstFanoutGroup(interfaceIndex);
        for (int attempt = 1; ; attempt++, group++)
        {
            try
            {
                channels[0].Socket.JoinFanout(group, mode, PacketFanoutFlags.None);
                break;
            }
            catch (NativeException e) when (e.Errno.Number == Errno.EINVAL && attempt < FanoutAttempts)
            {
                // Taken by a group of another interface or mode.
            }
        }
        for (int q = 1; q < channels.Count; q++)
            channels[q].Socket.JoinFanout(group, mode, PacketFanoutFlags.None);
        return group;
    }

    /// <summary>The first fanout group id tried for the interface <paramref name="interfaceIndex"/>: spread by process and interface.</summary>
    internal static ushort FirstFanoutGroup(int interfaceIndex) => unchecked((ushort)(Environment.ProcessId * 40503 + interfaceIndex * 977));

    /// <summary>A socket that receives nothing (protocol 0) and holds a PACKET_MR_PROMISC membership on the interface.</summary>
    private static PacketSocket HoldPromiscuous(int interfaceIndex)
    {
        PacketSocket socket = PacketSocket.Open(protocol: 0);
        try
        {
            socket.AddPromiscuousMembership(interfaceIndex);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
