namespace Dataplane.Ports;

/// <summary>What <see cref="PortWatch"/> saw of one port: link transitions and device faults, by name.</summary>
internal sealed class PortHealth
{
    private readonly Dictionary<string, long> _faults = [];

    /// <summary>The link as the last look found it.</summary>
    public bool LinkUp { get; internal set; }

    /// <summary>Times the link went down while running (up to down transitions).</summary>
    public long LinkDowns { get; internal set; }

    /// <summary>Times the link came back (down to up transitions).</summary>
    public long LinkUps { get; internal set; }

    /// <summary>What stopped the device (a fatal fault not recovered); null while it works.</summary>
    public string? Failure { get; internal set; }

    /// <summary>Faults counted so far, by name, in the order first seen. Safe from any thread.</summary>
    public KeyValuePair<string, long>[] Faults()
    {
        lock (_faults)
            return [.. _faults];
    }

    /// <summary>Adds <paramref name="count"/> to fault <paramref name="name"/>; true when the name is new.</summary>
    internal bool Count(string name, long count)
    {
        lock (_faults)
        {
            bool first = !_faults.TryGetValue(name, out long n);
            _faults[name] = n + count;
            return first;
        }
    }
}

/// <summary>
/// The control thread's look at every port's link and device, a few times a second: a link change
/// is counted and logged once (<c>port NAME: link down</c>, <c>port NAME: link up</c>); a device
/// fault (<see cref="IDeviceFaults"/>) is counted by name and logged, a fatal one always, another
/// the first time its name appears. The workers are not involved: a port whose link is down stays
/// polled, and what it is given to send goes to its device, which drops it or holds it as it does
/// (the VFIO README says which). As BSD's link state: the stack keeps its routes and addresses.
/// </summary>
internal sealed class PortWatch
{
    private readonly IReadOnlyList<IPort> _ports;
    private readonly PortHealth[] _health;
    private readonly Action<string> _log;
    private readonly List<DeviceFault> _faults = [];
    private bool _looked;
    private long _looks;

    /// <summary>A watch over <paramref name="ports"/>, saying what it sees through <paramref name="log"/>.</summary>
    public PortWatch(IReadOnlyList<IPort> ports, Action<string> log)
    {
        _ports = ports;
        _log = log;
        _health = new PortHealth[ports.Count];
        for (int p = 0; p < ports.Count; p++)
            _health[p] = new PortHealth { LinkUp = true };
    }

    /// <summary>How many looks <see cref="Check"/> has taken; safe from any thread.</summary>
    public long Looks => Volatile.Read(ref _looks);

    /// <summary>What was seen of port <paramref name="port"/> (its index in the config).</summary>
    public PortHealth Health(int port) => _health[port];

    /// <summary>
    /// Looks at every port once: its device's faults and events first (so an acknowledged link event
    /// is read after), then its link. The first look takes the links as they are and says only which
    /// are down. Control thread.
    /// </summary>
    public void Check()
    {
        for (int p = 0; p < _ports.Count; p++)
        {
            IPort port = _ports[p];
            PortHealth health = _health[p];
            if (port is IDeviceFaults device)
                CheckFaults(port, device, health);
            bool up = port.LinkUp;
            if (up == health.LinkUp)
                continue;
            health.LinkUp = up;
            if (!_looked)
            {
                _log($"port {port.Name}: link down");
                continue;
            }
            if (up)
                health.LinkUps++;
            else
                health.LinkDowns++;
            _log($"port {port.Name}: link {(up ? "up" : "down")}");
        }
        _looked = true;
        Volatile.Write(ref _looks, _looks + 1);
    }

    private void CheckFaults(IPort port, IDeviceFaults device, PortHealth health)
    {
        _faults.Clear();
        device.CheckFaults(_faults);
        foreach (DeviceFault fault in _faults)
        {
            bool first = health.Count(fault.Name, fault.Count);
            if (fault.Fatal || first)
                _log($"port {port.Name}: device error: {fault.Name}: {fault.Detail}");
        }
        string? failure = device.Failure;
        if (failure is not null && health.Failure is null)
            _log($"port {port.Name}: {failure}; the port is down, the other ports keep running");
        health.Failure = failure;
    }
}
