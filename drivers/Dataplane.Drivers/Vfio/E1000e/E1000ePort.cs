using System.Diagnostics;
using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;
using Dataplane.Wire;
using static Dataplane.Drivers.Vfio.E1000e.E1000eRegisters;

namespace Dataplane.Drivers.Vfio.E1000e;

/// <summary>
/// An Intel 82574 (QEMU's <c>-device e1000e</c>) driven through an <see cref="IPciFunction"/>: the
/// <c>vfio</c> driver's port for PCI 8086:10d3, following the Intel 82574 GbE Controller Family
/// Datasheet. Opening resets the function and the MAC (§4.6.1, §4.6.2) and sets up the MAC, link,
/// interrupts and both rings (§4.6.3 to §4.6.6); Start fills the receive ring and enables receive
/// and transmit. One queue pair (receive and transmit queue 0; the second queue and RSS are not
/// used); MSI-X vector 0 takes receive queue 0, vector 1 the other causes (link). Offloads:
/// receive checksums, transmit checksums, TSO (with <c>tso</c> on).
/// Control side; the data path is <see cref="E1000eQueue"/>.
/// </summary>
internal sealed class E1000ePort : IPort, IDeviceFaults
{
    /// <summary>Descriptors of each ring: 256 × 16 bytes, a page (RDLEN/TDLEN must be a multiple of 128).</summary>
    public const int RingSize = 256;

    /// <summary>MSI-X vector of receive queue 0.</summary>
    public const int ReceiveVector = 0;

    /// <summary>MSI-X vector of the other causes (link status change).</summary>
    public const int OtherVector = 1;

    private readonly IPciFunction _function;
    private readonly IMmioRegion _registers;
    private readonly E1000eChannel _channel = new();
    private readonly IReadOnlyList<EventFd> _vectors;
    private readonly DmaRegion _receiveRing;
    private readonly DmaRegion _transmitRing;
    private readonly string _where;
    private readonly bool _tso;
    private bool _promiscuous;
    private bool _initialized;
    private bool _disposed;

    private E1000ePort(string name, IPciFunction function, IMmioRegion registers, ushort portIndex, bool tso, string where)
    {
        _tso = tso;
        Name = name;
        _function = function;
        _registers = registers;
        _where = where;
        PortIndex = portIndex;
        _vectors = function.EnableMsix(2);
        _channel.Interrupt = _vectors[ReceiveVector];
        int ring = RingSize * E1000eDescriptor.Size;
        DmaRegion all = function.Dma.Allocate(2 * ring + (tso ? RingSize * E1000eTransmitter.HeaderSlot : 0));
        _receiveRing = all.Slice(0, ring);
        _transmitRing = all.Slice(ring, ring);
        DmaRegion? headers = tso ? all.Slice(2 * ring, RingSize * E1000eTransmitter.HeaderSlot) : null;
        _channel.Receiver = new E1000eReceiver(_receiveRing, registers, _channel.Interrupt, _channel.Counters, portIndex, 0);
        _channel.Transmitter = new E1000eTransmitter(_transmitRing, registers, _channel.Counters, headers);
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public string Driver => "vfio";

    /// <summary>The device model, as ifconfig shows it after the driver: "e1000e".</summary>
    public string Mode => "e1000e";

    /// <summary>The PCI function's address.</summary>
    public string Address => _function.Address;

    /// <summary>The port's number in the config, written into each received frame's metadata.</summary>
    public ushort PortIndex { get; }

    /// <inheritdoc/>
    public int QueueCount => 1;

    /// <summary>The MAC in receive address 0 (loaded from the NVM at reset), or a random locally administered one when it is not valid.</summary>
    public MacAddress Mac { get; private set; }

    /// <summary>1500: the receive buffers are 2048 bytes and long packets (RCTL.LPE) are off.</summary>
    public int Mtu => 1500;

    /// <summary>STATUS.LU now (§10.2.2.2); reading it re-arms the link interrupt (a one-shot, as EIAC makes it).</summary>
    public bool LinkUp
    {
        get
        {
            if (_disposed)
                return false;
            if (_initialized)
                _registers.Write32(Ims, InterruptLinkStatusChange | InterruptOther);
            return (_registers.Read32(Status) & StatusLinkUp) != 0;
        }
    }

    /// <summary>Never set: the 82574 has no fatal error state of its own to report (see <see cref="CheckFaults"/>).</summary>
    public string? Failure => null;

    /// <summary>
    /// Drains the other-causes vector (ICR.LSC raises it; <see cref="LinkUp"/> reads STATUS.LU) and
    /// reads the error statistics, which clear on read: missed packets (MPC: the receive FIFO
    /// overran, what ICR.RXO signals), CRC errors (CRCERRS), receive errors (RXERRC). The 82574
    /// has nothing beyond these counters: no fatal device error or queue stop to report, so it is
    /// never failed. ICR itself is not read here: it clears on read, and the worker's receive
    /// interrupt shares it.
    /// </summary>
    public void CheckFaults(List<DeviceFault> faults)
    {
        ArgumentNullException.ThrowIfNull(faults);
        if (_disposed || !_initialized)
            return;
        _vectors[OtherVector].Drain();
        Count(faults, Mpc, "missed packets", "MPC: frames dropped, the receive FIFO full");
        Count(faults, Crcerrs, "crc errors", "CRCERRS: frames received with a bad CRC");
        Count(faults, Rxerrc, "receive errors", "RXERRC: frames received with a PHY error");
    }

    private void Count(List<DeviceFault> faults, int register, string name, string detail)
    {
        uint n = _registers.Read32(register);
        if (n != 0)
            faults.Add(new DeviceFault(name, detail, n));
    }

    /// <summary>The other-causes vector's eventfd: readable after a link status change.</summary>
    public EventFd LinkInterrupt => _vectors[OtherVector];

    /// <summary>
    /// Receive checksums (IPv4 header, TCP, UDP) verified by the device; TCP and UDP checksums
    /// finished by it on transmit; TCP super-frames over IPv4 and IPv6 cut by it with <c>tso</c> on.
    /// </summary>
    public PortCapabilities Capabilities =>
        PortCapabilities.ReceiveChecksum | PortCapabilities.TransmitChecksum | (_tso ? PortCapabilities.Tso : 0);

    /// <inheritdoc/>
    public QueueCounters Counters(int queue)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(queue, 0);
        return _channel.Counters;
    }

    /// <summary>
    /// Opens port <paramref name="name"/> on <paramref name="function"/> (an 82574, which the port
    /// owns from here on and disposes on failure). One queue pair; an MTU above 1500 is refused.
    /// <paramref name="tso"/> lets the device cut TCP super-frames (§7.3.6).
    /// Throws <see cref="NativeException"/> naming the port and the PCI address when it cannot.
    /// </summary>
    public static E1000ePort Open(string name, IPciFunction function, int queues = 1, ushort portIndex = 0, int? mtu = null, bool tso = false)
    {
        ArgumentNullException.ThrowIfNull(function);
        string where = $"port {name}: vfio e1000e on PCI {function.Address}";
        E1000ePort? port = null;
        try
        {
            if (queues != 1)
                throw new NativeException($"{where}: {queues} queues asked for; this driver drives one queue pair of the 82574");
            if (mtu > 1500)
                throw new NativeException($"{where}: MTU {mtu} asked for; this driver takes 1500 at most (2048-byte receive buffers, no long packets)");
            function.Reset(); // a function-level reset where there is one: nothing of a previous owner's setup stays
            IMmioRegion registers = function.Bar(0);
            ResetMac(registers, where);
            function.EnableBusMastering();
            port = new E1000ePort(name, function, registers, portIndex, tso, where);
            port.Initialize();
            return port;
        }
        catch (Exception e)
        {
            if (port is not null)
            {
                try
                {
                    port.Quiesce();
                }
                catch (NativeException)
                {
                    // already failing; the function's dispose resets it too
                }
            }
            function.Dispose();
            if (e is NativeException native && !native.Message.StartsWith(where, StringComparison.Ordinal))
                throw new NativeException($"{where}: {native.Message}", native);
            throw;
        }
    }

    /// <summary>
    /// §4.6.1 and §4.6.2: interrupts masked, receive and transmit off, then the software reset
    /// (CTRL.RST, self-clearing), then interrupts masked again and ICR cleared, as the reset
    /// leaves them. Waits for CTRL.RST to clear, a second at most.
    /// </summary>
    private static void ResetMac(IMmioRegion r, string where)
    {
        r.Write32(Imc, 0xffffffff);
        r.Write32(Rctl, 0);
        r.Write32(Tctl, TctlPadShort);
        _ = r.Read32(Status); // flush the posted writes before the reset
        Thread.Sleep(10);     // §4.6.1: let pending DMA finish
        r.Write32(Ctrl, r.Read32(Ctrl) | CtrlReset);
        Thread.Sleep(1);      // §4.6.2: the MAC needs 1 µs at least before it is accessed again
        long deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
        while ((r.Read32(Ctrl) & CtrlReset) != 0)
        {
            if (Stopwatch.GetTimestamp() > deadline)
                throw new NativeException($"{where}: the device did not finish its reset (CTRL.RST still set after a second)");
            Thread.Sleep(1);
        }
        r.Write32(Imc, 0xffffffff);
        _ = r.Read32(Icr); // clear-on-read: no cause from before the reset stays
    }

    /// <summary>
    /// §4.6.3 to §4.6.6 with the receiver and transmitter still off: the MAC address, the multicast
    /// table, the link, interrupts (MSI-X through IVAR), the receive ring and its controls, the
    /// transmit ring and its controls. Start enables receive and transmit.
    /// </summary>
    private void Initialize()
    {
        IMmioRegion r = _registers;
        // §4.6.3 / §10.2.5.19: receive address 0 holds the MAC the NVM loaded, with AV set.
        uint ral = r.Read32(Ral0), rah = r.Read32(Rah0);
        if (!_initialized && Mac == default)
        {
            Mac = (rah & RahAddressValid) != 0 && (ral | (rah & 0xffff)) != 0
                ? new MacAddress((byte)ral, (byte)(ral >> 8), (byte)(ral >> 16), (byte)(ral >> 24), (byte)rah, (byte)(rah >> 8))
                : RandomMac();
        }
        Span<byte> m = stackalloc byte[MacAddress.Length];
        Mac.CopyTo(m);
        r.Write32(Ral0, m[0] | ((uint)m[1] << 8) | ((uint)m[2] << 16) | ((uint)m[3] << 24));
        r.Write32(Rah0, m[4] | ((uint)m[5] << 8) | RahAddressValid);
        for (int i = 0; i < MtaEntries; i++) // §4.6.5: the multicast table starts cleared
            r.Write32(Mta + 4 * i, 0);

        // §4.6.4: the MAC follows the PHY's link (SLU), no link reset, no VLAN stripping.
        r.Write32(Ctrl, (r.Read32(Ctrl) | CtrlSetLinkUp) & ~(CtrlLinkReset | CtrlPhyReset | CtrlVlanMode | CtrlReset));

        // §7.4.2 / §10.2.4.9: receive queue 0 raises vector 0, the other causes vector 1; transmit
        // queue 0 none (polled). PBA support is required in MSI-X mode. EIAC: a vector's firing
        // clears its cause and masks it (IAME off), so each interrupt is one shot, re-armed by IMS.
        r.Write32(Ivar, ((IvarValid | ReceiveVector) << IvarRxQueue0Shift) | ((IvarValid | OtherVector) << IvarOtherShift));
        r.Write32(CtrlExt, (r.Read32(CtrlExt) & ~CtrlExtIame) | CtrlExtPbaSupport);
        r.Write32(Eiac, InterruptRxQueue0 | InterruptOther);

        // §4.6.5: the receive ring, its head and tail 0 (empty), no interrupt delay, checksum
        // offload for IPv4 headers and TCP/UDP (PCSD clear: the descriptor has the checksum field),
        // legacy descriptors (RFCTL.EXSTEN clear), the receiver still off.
        r.Write32(Rdbal, (uint)_receiveRing.Iova);
        r.Write32(Rdbah, (uint)(_receiveRing.Iova >> 32));
        r.Write32(Rdlen, (uint)_receiveRing.Length);
        r.Write32(Rdh, 0);
        r.Write32(Rdt, 0);
        r.Write32(Rdtr, 0);
        r.Write32(Radv, 0);
        r.Write32(Rxcsum, RxcsumIpOffload | RxcsumTcpUdpOffload);
        r.Write32(Rfctl, r.Read32(Rfctl) & ~RfctlExtendedStatus);
        r.Write32(Rctl, ReceiveControl(enabled: false));

        // §4.6.6: the transmit ring, empty; every descriptor with RS written back at once
        // (TXDCTL GRAN 1, WTHRESH 1, bit 22 set as §10.2.6.10 asks); the IPG for copper;
        // the transmitter still off. TARC0 keeps its reset value (its enable bit).
        r.Write32(Tdbal, (uint)_transmitRing.Iova);
        r.Write32(Tdbah, (uint)(_transmitRing.Iova >> 32));
        r.Write32(Tdlen, (uint)_transmitRing.Length);
        r.Write32(Tdh, 0);
        r.Write32(Tdt, 0);
        r.Write32(Txdctl, (r.Read32(Txdctl) & ~TxdctlWriteBackThreshold) | TxdctlFullWriteBack | TxdctlCountDescriptors);
        r.Write32(Tipg, TipgCopper);
        r.Write32(Tctl, TransmitControl(enabled: false));
        _ = r.Read32(Status); // the ring registers take effect before anything starts

        r.Write32(Ims, InterruptLinkStatusChange | InterruptOther); // link changes; receive is armed when idle
        _initialized = true;
    }

    /// <summary>
    /// RCTL (§10.2.5.1): broadcasts, the CRC stripped, 2048-byte buffers, and every multicast
    /// (MPE): the multicast table is not programmed, and IPv6 neighbour discovery needs its
    /// solicited-node groups. UPE with promiscuous mode.
    /// </summary>
    private uint ReceiveControl(bool enabled) =>
        (enabled ? RctlEnable : 0) | RctlBroadcast | RctlStripCrc | RctlBufferSize2048 | RctlMulticastPromiscuous
        | (_promiscuous ? RctlUnicastPromiscuous : 0);

    /// <summary>TCTL (§10.2.6.1): short frames padded, the recommended collision threshold and full-duplex distance.</summary>
    private static uint TransmitControl(bool enabled) =>
        (enabled ? TctlEnable : 0) | TctlPadShort | TctlCollisionThreshold | TctlCollisionDistance | TctlRetransmitLateCollision;

    /// <summary>
    /// The data path of queue <paramref name="queue"/> (0), receiving into and releasing to
    /// <paramref name="cache"/> (its worker's). Maps the cache's pool for the device (once per pool).
    /// </summary>
    public E1000eQueue Queue(int queue, BufferCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentOutOfRangeException.ThrowIfNotEqual(queue, 0);
        if (cache.Pool.BufferSize - cache.Pool.Headroom < ReceiveBufferSize)
            throw new NativeException($"{_where}: the buffer pool's data room ({cache.Pool.BufferSize - cache.Pool.Headroom}) is smaller than the 2048-byte receive buffers the device writes");
        _function.Dma.MapPool(cache.Pool);
        _channel.Cache = cache;
        return new E1000eQueue(_channel, cache);
    }

    /// <summary>
    /// Fills the receive ring from its worker's cache, then enables the receiver and transmitter;
    /// after a <see cref="Stop"/>, resets and sets the device up again first. Control path, with the
    /// worker not yet running.
    /// </summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_initialized)
        {
            ResetMac(_registers, _where);
            Initialize();
        }
        if (_channel.Cache is { } cache)
            _channel.Receiver.Refill(cache);
        _registers.Write32(Rctl, ReceiveControl(enabled: true));
        _registers.Write32(Tctl, TransmitControl(enabled: true));
        _channel.Started = true;
    }

    /// <summary>
    /// Stops the queues: receiver and transmitter off and the MAC reset, so the device no longer
    /// reads or writes the rings, then every buffer on a ring back to its worker's cache. With the
    /// worker stopped.
    /// </summary>
    public void Stop()
    {
        if (!_initialized || _disposed)
            return;
        _channel.Started = false;
        Quiesce();
        if (_channel.Cache is { } cache)
        {
            _channel.Receiver.ReleaseAll(cache);
            _channel.Transmitter.ReleaseAll(cache);
        }
    }

    /// <summary>The device off the rings (§4.6.1 reset), interrupts masked.</summary>
    private void Quiesce()
    {
        _initialized = false;
        ResetMac(_registers, _where);
    }

    /// <summary>RCTL.UPE: every unicast frame, not only those to <see cref="Mac"/>.</summary>
    public void SetPromiscuous(bool on)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _promiscuous = on;
        if (_initialized)
            _registers.Write32(Rctl, ReceiveControl(enabled: _channel.Started));
    }

    /// <summary>Stops the port and gives the PCI function back (MSI-X off, DMA unmapped, descriptors closed).</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        try
        {
            Stop();
        }
        catch (NativeException)
        {
            // the function's dispose resets the device through vfio-pci
        }
        _disposed = true;
        _function.Dispose();
    }

    /// <summary>A random locally administered unicast address (02:xx:...), for a device whose receive address 0 is not valid.</summary>
    private static MacAddress RandomMac()
    {
        Span<byte> m = stackalloc byte[6];
        Random.Shared.NextBytes(m);
        m[0] = (byte)((m[0] & 0xfc) | 0x02);
        return new MacAddress(m);
    }
}
