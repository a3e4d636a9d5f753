using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;
using Dataplane.Wire;

namespace Dataplane.Drivers.Tap;

/// <summary>
/// The <c>tap</c> driver's control side: a multi-queue tap interface (IFF_TAP | IFF_NO_PI |
/// IFF_VNET_HDR | IFF_MULTI_QUEUE), one non-blocking file descriptor per queue, all attached to
/// the same name (the kernel's Documentation/networking/tuntap.rst, "Multiqueue tuntap interface").
/// The interface is the host's side of the link: whatever the host sends through it we read, and
/// what we write the host receives. It may be moved into another network namespace after opening
/// (<c>ip link set NAME netns NS</c>, as the lab does to make it a host's NIC): the descriptors keep
/// working, but its MTU and flags can no longer be read by name from here. With more than one
/// queue, the tap puts each frame the host sends on the queue of the worker that owns its flow
/// (a steering program, <see cref="HostFlowSteering"/>), or by the kernel's hash where the program
/// cannot be loaded.
/// </summary>
internal sealed class TapPort : IPort, IFlowSteering
{
    private readonly TapQueueState[] _queues;
    private readonly QueueCounters[] _counters;
    private readonly int _interfaceIndex;
    private readonly bool _tso;
    private readonly bool _lro;
    private int _mtu;
    private bool _steered; // the tap places flows by a FlowSteeringProgram
    private readonly Action<string>? _log;
    private bool _started;
    private bool _disposed;

    /// <summary>
    /// Opens (creating it if missing) the tap <paramref name="ifname"/> with <paramref name="queues"/>
    /// queues for the port <paramref name="name"/>, sets the virtio-net header size and the offloads
    /// (<paramref name="tso"/>: see <see cref="TapOffloads.For"/>), sets the MTU when
    /// <paramref name="mtu"/> is given, and brings the interface up. Every failure is a
    /// <see cref="NativeException"/> naming the port and the interface, and leaves nothing behind:
    /// the descriptors opened so far are closed, which removes a tap this call created.
    /// </summary>
    /// <param name="portIndex">The port's number in the engine, stamped into <see cref="BufferMetadata.Port"/>.</param>
    /// <param name="lro">Whether the kernel may hand the port super-frames (TUN_F_TSO4/6); as <paramref name="tso"/> unless given. <paramref name="tso"/> alone then says whether the stack may write them.</param>
    /// <param name="log">Told why, when the tap of several queues places flows by the kernel's hash rather than the engine's.</param>
    public TapPort(string name, string ifname, int queues = 1, bool tso = false, int? mtu = null, ushort portIndex = 0, bool? lro = null,
        Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(ifname);
        ArgumentOutOfRangeException.ThrowIfLessThan(queues, 1);
        Name = name;
        InterfaceName = ifname;
        PortIndex = portIndex;
        _tso = tso;
        _lro = lro ?? tso;
        try
        {
            IfReq.ValidateName(ifname);
        }
        catch (ArgumentException e)
        {
            throw new NativeException($"{Describe()}: '{ifname}' is not an interface name (1 to {IfReq.NameSize - 1} ASCII characters, no '/', ':' or white space)", e);
        }

        var descriptors = new FileDescriptor[queues];
        int opened = 0;
        try
        {
            for (; opened < queues; opened++)
                descriptors[opened] = OpenQueue(opened);
            // The header size and the offloads belong to the device, not a queue (tun.c keeps them in struct tun_struct).
            Step("cannot set the virtio-net header size (ioctl TUNSETVNETHDRSZ)", () => Tun.SetVnetHeaderSize(descriptors[0], TapOffloads.HeaderSize));
            Step("cannot set the offloads (ioctl TUNSETOFFLOAD)", () => Tun.SetOffloads(descriptors[0], TapOffloads.For(_lro)));
            if (mtu is int wanted)
                Step($"cannot set the MTU to {wanted} (a tap takes 68 to 65535)", () => LinkControl.SetMtu(ifname, wanted));
            Step("cannot bring the interface up", () => LinkControl.SetUp(ifname, true));
            _interfaceIndex = Step("cannot read the interface index", () => LinkControl.IndexOf(ifname));
            _mtu = Step("cannot read the MTU", () => LinkControl.GetMtu(ifname));
            KernelMac = Step("cannot read the hardware address", () => new MacAddress(LinkControl.GetHardwareAddress(ifname)));
        }
        catch
        {
            for (int i = 0; i < opened; i++)
                descriptors[i].Dispose();
            throw;
        }
        Mac = LocallyAdministeredAddressOtherThan(KernelMac);
        _log = log;
        if (queues > 1)
        {
            // As an engine of as many workers places flows, until SteerFlows says its own placement.
            using FlowSteeringProgram? steering = HostFlowSteering.TryLoadDefault(queues, out string? problem);
            _steered = steering is not null && TrySteer(descriptors[0], steering, ref problem);
            SteeringProblem = problem;
            if (!_steered)
            {
                Tun.TryClearSteeringProgram(descriptors[0]); // a tap made beforehand may hold another user's
                log?.Invoke($"port {name}: the host's flows are spread over the queues by the kernel's hash, and handed between workers: {problem}");
            }
        }
        _queues = new TapQueueState[queues];
        _counters = new QueueCounters[queues];
        for (int i = 0; i < queues; i++)
        {
            _queues[i] = new TapQueueState(descriptors[i], i);
            _counters[i] = new QueueCounters();
        }
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>The tap interface's name (the config's <c>ifname</c>).</summary>
    public string InterfaceName { get; }

    /// <summary>The port's number in the engine, stamped into received frames' metadata.</summary>
    public ushort PortIndex { get; }

    /// <inheritdoc/>
    public string Driver => "tap";

    /// <inheritdoc/>
    public int QueueCount => _queues.Length;

    /// <summary>How the queues share the host's flows, with more than one: by the engine's placement or by the kernel's hash.</summary>
    public string? Mode => _queues.Length < 2 ? null : _steered ? HostFlowSteering.SteeredMode : HostFlowSteering.KernelHashMode;

    /// <summary>Why the tap places flows by the kernel's hash rather than the engine's; null when it does not, or with one queue.</summary>
    public string? SteeringProblem { get; private set; }

    /// <summary>
    /// The engine's placement (<see cref="IFlowSteering"/>): the tap's steering program is replaced
    /// by one for <paramref name="key"/> and <paramref name="owners"/>. Nothing changes with one
    /// queue; if the program cannot be set, the one before stays, with the reason in <see cref="SteeringProblem"/>.
    /// </summary>
    public void SteerFlows(ReadOnlySpan<byte> key, Engine.RssIndirectionTable owners)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_queues.Length < 2)
            return;
        using FlowSteeringProgram? steering = HostFlowSteering.TryLoad(key, owners, out string? problem);
        if (steering is not null && TrySteer(_queues[0].Descriptor, steering, ref problem))
        {
            _steered = true;
            SteeringProblem = null;
            return;
        }
        SteeringProblem = problem;
        _log?.Invoke(_steered
            ? $"port {Name}: the engine's placement could not be given to the tap, which places the host's flows as an engine of {_queues.Length} workers would: {problem}"
            : $"port {Name}: the host's flows are spread over the queues by the kernel's hash, and handed between workers: {problem}");
    }

    private static bool TrySteer(FileDescriptor queue, FlowSteeringProgram steering, ref string? problem)
    {
        try
        {
            Tun.SetSteeringProgram(queue, steering.Descriptor);
            return true;
        }
        catch (NativeException e)
        {
            problem = e.Message;
            return false;
        }
    }

    /// <summary>
    /// Our own address on the link: locally administered (02:xx:xx:xx:xx:xx), random per port and
    /// never the kernel side's, since the tap's address is the host's.
    /// </summary>
    public MacAddress Mac { get; }

    /// <summary>The tap interface's address: the host's side of the link.</summary>
    public MacAddress KernelMac { get; }

    /// <summary>
    /// The interface's MTU (SIOCGIFMTU), read again each time while the interface is in this
    /// network namespace; after it moved away, the last value read (or set through the constructor).
    /// </summary>
    public int Mtu
    {
        get
        {
            if (IsHere())
            {
                try
                {
                    _mtu = LinkControl.GetMtu(InterfaceName);
                }
                catch (NativeException)
                {
                    // Moved or removed between the two calls: keep the last value.
                }
            }
            return _mtu;
        }
    }

    /// <summary>
    /// While the interface is in this network namespace: up and running (IFF_UP and IFF_RUNNING).
    /// Once it moved into another namespace its flags cannot be read by name from here; then the
    /// link counts as up while the port is started and no queue's last write failed with EIO (which
    /// is how tun.c refuses writes to an interface that is down). The carrier itself is on as long as
    /// a queue is attached.
    /// </summary>
    public bool LinkUp
    {
        get
        {
            if (IsHere())
            {
                try
                {
                    InterfaceFlags flags = LinkControl.GetFlags(InterfaceName);
                    return (flags & (InterfaceFlags.Up | InterfaceFlags.Running)) == (InterfaceFlags.Up | InterfaceFlags.Running);
                }
                catch (NativeException)
                {
                    // Moved or removed between the two calls: fall through.
                }
            }
            if (!_started)
                return false;
            foreach (TapQueueState queue in _queues)
            {
                if (queue.InterfaceDown)
                    return false;
            }
            return true;
        }
    }

    /// <inheritdoc/>
    public PortCapabilities Capabilities => TapOffloads.Capabilities(_tso, _queues.Length, _lro);

    /// <summary>Whether the port asked for TSO (<c>set tso on</c>).</summary>
    public bool Tso => _tso;

    /// <inheritdoc/>
    public QueueCounters Counters(int queue) => _counters[queue];

    /// <summary>
    /// The data path of queue <paramref name="queue"/>, taking buffers from <paramref name="cache"/>
    /// (the cache of the worker that owns the queue) and releasing sent ones to it.
    /// </summary>
    public TapQueue Queue(int queue, BufferCache cache)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)queue, (uint)QueueCount, nameof(queue));
        ArgumentNullException.ThrowIfNull(cache);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new TapQueue(_queues[queue], cache, _counters[queue], PortIndex);
    }

    /// <inheritdoc/>
    public void Start() => _started = true;

    /// <summary>
    /// Stops the port: frames the kernel queued for us are read and dropped, and the queues' receive
    /// reserves go back to the pool. Call it after the workers using the queues have stopped.
    /// </summary>
    public void Stop()
    {
        _started = false;
        foreach (TapQueueState queue in _queues)
        {
            // Bounded: the kernel queues at most txqueuelen frames per queue (1000 by default).
            for (int i = 0; i < 4096 && queue.Descriptor.Read(queue.Discard) >= 0; i++)
            {
            }
            queue.ReturnReserve();
        }
    }

    /// <summary>Nothing to do: a tap hands us every frame the kernel sends through it, whatever its address.</summary>
    public void SetPromiscuous(bool on)
    {
    }

    /// <summary>
    /// Stops the port and closes the queues; closing the last one removes the interface (it is not
    /// persistent), in whatever network namespace it is by then.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        Stop();
        _disposed = true;
        if (_steered)
            Tun.TryClearSteeringProgram(_queues[0].Descriptor); // a persistent tap would keep it
        foreach (TapQueueState queue in _queues)
            queue.Descriptor.Dispose();
    }

    /// <summary>"port NAME (tap IFNAME)", the start of every error message.</summary>
    private string Describe() => $"port {Name} (tap {InterfaceName})";

    /// <summary>
    /// Opens /dev/net/tun and attaches it as queue <paramref name="queue"/> (TUNSETIFF), creating
    /// the interface with the first queue if it does not exist.
    /// </summary>
    private FileDescriptor OpenQueue(int queue)
    {
        try
        {
            return Tun.OpenQueue(InterfaceName, Tun.MultiQueueTap, nonBlocking: true);
        }
        catch (NativeException e) when (e.Operation.StartsWith("open(", StringComparison.Ordinal))
        {
            string hint = e.Errno.Number switch
            {
                Errno.ENOENT or Errno.ENODEV or Errno.ENXIO => " (no tun driver: modprobe tun)",
                Errno.EACCES or Errno.EPERM => $" (its permissions keep this user out: run as root, or give the user access to {Tun.CloneDevice} and a tap made beforehand)",
                _ => "",
            };
            throw new NativeException($"{Describe()}: cannot open {Tun.CloneDevice}{hint}", e.Errno);
        }
        catch (NativeException e)
        {
            string hint = e.Errno.Number switch
            {
                Errno.EPERM => "; creating a tap or attaching to another user's needs CAP_NET_ADMIN",
                Errno.EINVAL => $"; {InterfaceName} exists and is not a multi-queue tap",
                Errno.EBUSY => $"; {InterfaceName} is in use without IFF_MULTI_QUEUE",
                E2BIG => "; a tap has at most 256 queues",
                _ => "",
            };
            throw new NativeException($"{Describe()}: cannot attach queue {queue} (ioctl TUNSETIFF{hint})", e.Errno);
        }
    }

    /// <summary>E2BIG (7): more queues than MAX_TAP_QUEUES (tun.c).</summary>
    private const int E2BIG = 7;

    private void Step(string what, Action action) => Step(what, () =>
    {
        action();
        return 0;
    });

    private T Step<T>(string what, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (NativeException e)
        {
            throw new NativeException($"{Describe()}: {what}", e.Errno);
        }
    }

    /// <summary>Whether the interface is (still) in this network namespace: same name, same index.</summary>
    private bool IsHere()
    {
        try
        {
            return !_disposed && LinkControl.Exists(InterfaceName) && LinkControl.IndexOf(InterfaceName) == _interfaceIndex;
        }
        catch (NativeException)
        {
            return false;
        }
    }

    /// <summary>A random unicast, locally administered address (IEEE 802 bit 1 of the first octet), not <paramref name="other"/>.</summary>
    private static MacAddress LocallyAdministeredAddressOtherThan(MacAddress other)
    {
        Span<byte> bytes = stackalloc byte[MacAddress.Length];
        MacAddress mac;
        do
        {
            Random.Shared.NextBytes(bytes[1..]);
            bytes[0] = 0x02;
            mac = new MacAddress(bytes);
        }
        while (mac == other);
        return mac;
    }
}
