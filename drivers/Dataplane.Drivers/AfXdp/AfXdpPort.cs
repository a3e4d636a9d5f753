using System.Globalization;
using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;
using Dataplane.Wire;

namespace Dataplane.Drivers.AfXdp;

/// <summary>
/// The <c>afxdp</c> driver: an existing Linux interface (a veth end, a NIC the kernel keeps) used
/// through AF_XDP sockets (the kernel's Documentation/networking/af_xdp.rst). An XDP program on the
/// interface redirects each frame of receive queue <c>q</c> to the socket of queue <c>q</c> through
/// an XSKMAP (<see cref="XdpProgram.LoadRedirect"/>); frames of a queue without a socket go on to
/// the kernel's stack. One socket per queue, made when the engine hands the queue its worker's
/// cache, over the dataplane's buffer pool as its UMEM (<see cref="AfXdpChannel"/>).
/// The program runs natively in the driver when it can, otherwise in generic mode (after the skb
/// is built), and is detached when the port is disposed or the process dies (a BPF link).
/// </summary>
internal sealed class AfXdpPort : IPort
{
    private readonly AfXdpChannel[] _channels;
    private readonly XskMap _map;
    private readonly XdpProgram _program;
    private readonly XdpAttachment _attachment;
    private bool _disposed;

    private AfXdpPort(string name, string interfaceName, int interfaceIndex, MacAddress mac, AfXdpChannel[] channels,
        XskMap map, XdpProgram program, XdpAttachment attachment)
    {
        Name = name;
        InterfaceName = interfaceName;
        InterfaceIndex = interfaceIndex;
        Mac = mac;
        _channels = channels;
        _map = map;
        _program = program;
        _attachment = attachment;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public string Driver => "afxdp";

    /// <summary>The Linux interface the port uses.</summary>
    public string InterfaceName { get; }

    /// <summary>Its interface index.</summary>
    public int InterfaceIndex { get; }

    /// <inheritdoc/>
    public int QueueCount => _channels.Length;

    /// <summary>The interface's hardware address, read when the port was opened.</summary>
    public MacAddress Mac { get; }

    /// <summary>The interface's MTU now (SIOCGIFMTU).</summary>
    public int Mtu => LinkControl.GetMtu(InterfaceName);

    /// <summary>How the XDP program runs: natively in the driver, or generic (after the skb is built).</summary>
    public XdpAttachMode AttachMode => _attachment.Mode;

    /// <summary>Whether the sockets run in zero-copy mode (the driver fills the UMEM), not copy mode.</summary>
    public bool ZeroCopy => _channels[0].ZeroCopy;

    /// <summary>The attach and bind modes, as ifconfig shows them: "native, copy", "generic, copy", "native, zero-copy".</summary>
    public string Mode => $"{(AttachMode == XdpAttachMode.Native ? "native" : "generic")}, {(ZeroCopy ? "zero-copy" : "copy")}";

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
    /// No offloads: an XDP frame comes with no checksum state and leaves as it is, one frame a chunk
    /// (no TSO, no LRO: a veth peer's GSO is switched off by the kernel while a program without
    /// multi-buffer runs on its peer, veth.c veth_fix_features).
    /// </summary>
    public PortCapabilities Capabilities => _channels.Length > 1 ? PortCapabilities.MultiQueue : PortCapabilities.None;

    /// <inheritdoc/>
    public QueueCounters Counters(int queue) => Channel(queue).Counters;

    /// <summary>Queue <paramref name="queue"/>'s socket's XDP_STATISTICS now, cumulative (zero before the queue is bound); the losses among them are folded into its counters.</summary>
    public XdpStatistics KernelStatistics(int queue) => Channel(queue).Receiver?.Statistics() ?? default;

    /// <summary>Buffers queue <paramref name="queue"/> has sent that the kernel has not given back yet (for tests: all come back once sent). With the worker stopped.</summary>
    internal int TransmitInFlight(int queue)
    {
        AfXdpChannel channel = Channel(queue);
        return channel.Transmitter is { } transmitter ? transmitter.InFlight(channel.Cache!) : 0;
    }

    /// <summary>Pool buffers the kernel holds for queue <paramref name="queue"/> now: on its fill ring, or sent and not yet back.</summary>
    internal int HeldBuffers(int queue) => Channel(queue).Umem?.HeldCount ?? 0;

    /// <summary>
    /// Opens port <paramref name="name"/> on the interface <paramref name="interfaceName"/> with
    /// <paramref name="queues"/> queues (at most the interface's receive queues);
    /// <paramref name="portIndex"/> is written into each received frame's metadata. Brings the
    /// interface up, attaches the redirect program natively, or in generic mode when the driver
    /// refuses native XDP (<paramref name="log"/> says so). The sockets are made by <see cref="Queue"/>.
    /// Throws <see cref="NativeException"/> naming the port and the interface when it cannot, with
    /// nothing left open and no program left on the interface.
    /// </summary>
    public static AfXdpPort Open(string name, string interfaceName, int queues = 1, ushort portIndex = 0, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(queues, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(queues, ushort.MaxValue);
        string where = $"port {name}: afxdp on interface {interfaceName}";
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
        int available = ReceiveQueues(interfaceName);
        if (queues > available)
        {
            throw new NativeException($"{where}: {queues} queues asked for, the interface has {available} receive queue{(available == 1 ? "" : "s")}"
                + " (a veth takes numrxqueues when it is made; a NIC: ethtool -L)");
        }

        var channels = new List<AfXdpChannel>(queues);
        XskMap? map = null;
        XdpProgram? program = null;
        XdpAttachment? attachment = null;
        try
        {
            int index = LinkControl.IndexOf(interfaceName);
            MacAddress mac = new(LinkControl.GetHardwareAddress(interfaceName));
            LinkControl.SetUp(interfaceName, true);
            map = XskMap.Create((uint)queues);
            program = XdpProgram.LoadRedirect(map);
            attachment = Attach(program, index, where, log);
            for (int q = 0; q < queues; q++)
                channels.Add(new AfXdpChannel(index, portIndex, (ushort)q));
            return new AfXdpPort(name, interfaceName, index, mac, [.. channels], map, program, attachment);
        }
        catch (Exception e)
        {
            attachment?.Dispose(); // the program leaves the interface first, then the sockets close
            foreach (AfXdpChannel channel in channels)
                channel.Dispose();
            program?.Dispose();
            map?.Dispose();
            if (e is not NativeException native)
                throw;
            string hint = native.Errno.Number is Errno.EPERM or Errno.EACCES
                ? " (AF_XDP sockets need CAP_NET_RAW, and XDP programs CAP_BPF and CAP_NET_ADMIN: run as root)"
                : "";
            throw new NativeException($"{where}: {native.Message}{hint}", native);
        }
    }

    /// <summary>
    /// The data path of queue <paramref name="queue"/>, receiving into and releasing to
    /// <paramref name="cache"/> (its worker's). The first time, makes the queue's socket over the
    /// cache's pool, fills its fill ring and enters it in the XSKMAP, so that from then on the
    /// queue's frames come to it (before, they went on to the kernel's stack). Throws
    /// <see cref="NativeException"/> naming the port when the socket cannot be made.
    /// </summary>
    public AfXdpQueue Queue(int queue, BufferCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ObjectDisposedException.ThrowIf(_disposed, this);
        AfXdpChannel channel = Channel(queue);
        bool fresh = channel.Socket is null;
        channel.Bind(cache, $"port {Name}: afxdp on interface {InterfaceName}");
        if (fresh)
            _map.Set((uint)queue, channel.Socket!);
        return new AfXdpQueue(channel, cache);
    }

    /// <summary>
    /// Starts the queues. What the RX rings gathered while the port was stopped (or before its
    /// first start) goes back to the fill rings unread. Control path, with the workers not yet running.
    /// </summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (AfXdpChannel channel in _channels)
        {
            channel.Receiver?.Discard();
            channel.Started = true;
        }
    }

    /// <summary>Stops the queues and folds what the kernel dropped (XDP_STATISTICS) into their counters. With the workers stopped.</summary>
    public void Stop()
    {
        foreach (AfXdpChannel channel in _channels)
        {
            if (!channel.Started)
                continue;
            channel.Started = false;
            channel.Receiver?.FoldKernelDrops();
        }
    }

    /// <summary>
    /// Nothing to do: the XDP program sees every frame the interface receives, whatever its
    /// destination, and the interface's own filter is the driver's business. A NIC's unicast
    /// filter would still drop frames for other addresses; set it promiscuous with ip link.
    /// </summary>
    public void SetPromiscuous(bool on) => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Stops the port, detaches the program, closes the sockets and gives the buffers the kernel held back to the pool; the interface stays up.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        Stop();
        _disposed = true;
        try
        {
            _attachment.Dispose();
        }
        finally
        {
            foreach (AfXdpChannel channel in _channels)
                channel.Dispose();
            _program.Dispose();
            _map.Dispose();
        }
    }

    /// <summary>
    /// The interface's receive queues (real_num_rx_queues), as /sys/class/net/IF/queues lists them
    /// (rx-0, rx-1, ...): the queue ids an AF_XDP socket may bind to (xsk_bind checks against it).
    /// </summary>
    internal static int ReceiveQueues(string interfaceName)
    {
        string directory = $"/sys/class/net/{interfaceName}/queues";
        if (!Directory.Exists(directory))
            return 1;
        int count = 0;
        foreach (string path in Directory.EnumerateDirectories(directory, "rx-*"))
        {
            if (int.TryParse(Path.GetFileName(path).AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out _))
                count++;
        }
        return Math.Max(count, 1);
    }

    /// <summary>
    /// Attaches the program natively; when the driver has no native XDP (EOPNOTSUPP), or refuses
    /// it for this interface now (veth: EINVAL or ENOSPC, for a peer MTU or queue count it cannot
    /// take), in generic mode, saying so through <paramref name="log"/>.
    /// </summary>
    private static XdpAttachment Attach(XdpProgram program, int index, string where, Action<string>? log)
    {
        try
        {
            return program.Attach(index, XdpAttachMode.Native);
        }
        catch (NativeException e) when (e.Errno.Number is Errno.EOPNOTSUPP or Errno.EINVAL or Errno.ENOSPC or Errno.ERANGE)
        {
            log?.Invoke($"{where}: native XDP refused ({e.Errno}), the program runs in generic mode (after the kernel builds each skb: slower)");
            return program.Attach(index, XdpAttachMode.Generic);
        }
    }

    private AfXdpChannel Channel(int queue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)queue, (uint)_channels.Length, nameof(queue));
        return _channels[queue];
    }
}
