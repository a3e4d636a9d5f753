namespace Dataplane.Config;

/// <summary>The statements that make interfaces: port, vlan and mtu.</summary>
internal sealed partial class ConfigParser
{
    private static readonly string[] PortOptions = ["driver", "ifname", "pci", "queues", "tso", "lro"];
    private static readonly string[] VlanOptions = ["parent", "vnetid"];

    // port NAME driver DRIVER [ifname IFNAME] [pci DDDD:BB:DD.F] [queues N] [tso on|off] [lro on|off]
    private void ParsePort(string[] t, int line)
    {
        if (t.Length < 2)
        {
            Error(line, "port: missing name (port NAME driver DRIVER ...)");
            return;
        }
        string name = t[1];
        if (!DeclareName(name, "port", line))
            return;
        string context = $"port {name}";
        if (ReadOptions(t, 2, line, context, PortOptions) is not { } options)
            return;
        if (!options.TryGetValue("driver", out string? driverText))
        {
            Error(line, $"{context}: missing 'driver' ({Alternatives(PortDriverNames.All)})");
            return;
        }
        if (!PortDriverNames.TryParse(driverText, out PortDriver driver))
        {
            Error(line, $"{context}: unknown driver '{driverText}' (expected {Alternatives(PortDriverNames.All)})");
            return;
        }

        bool ok = true;
        string? ifname = options.GetValueOrDefault("ifname");
        if (driver.NeedsIfName() && ifname is null)
            ok = Fail(line, $"{context}: driver {driverText} needs 'ifname IFNAME'");
        else if (!driver.NeedsIfName() && ifname is not null)
            ok = Fail(line, $"{context}: driver {driverText} takes no 'ifname'");
        else if (ifname is not null && !IsLinuxInterfaceName(ifname))
            ok = Fail(line, $"{context}: interface name '{ifname}' is not valid (1-15 characters, not '.' or '..', no '/', ':' or whitespace)");

        PciAddress? pci = null;
        string? pciText = options.GetValueOrDefault("pci");
        if (driver == PortDriver.Vfio && pciText is null)
            ok = Fail(line, $"{context}: driver vfio needs 'pci {PciAddress.Form}'");
        else if (driver != PortDriver.Vfio && pciText is not null)
            ok = Fail(line, $"{context}: driver {driverText} takes no 'pci'");
        else if (pciText is not null)
        {
            if (PciAddress.TryParse(pciText, out PciAddress parsed))
                pci = parsed;
            else
                ok = Fail(line, $"{context}: PCI address '{pciText}' is not valid (expected {PciAddress.Form} in hex, e.g. 0000:00:03.0)");
        }

        int queues = PortConfig.DefaultQueues;
        if (options.TryGetValue("queues", out string? queuesText) && !Number(queuesText, 1, PortConfig.MaxQueues, line, context, "queues", out queues))
            ok = false;
        // Per-port overrides of `set tso` and `set lro`: null follows the setting.
        bool? tso = OnOff(options, "tso", line, context, ref ok);
        bool? lro = OnOff(options, "lro", line, context, ref ok);
        if (!ok)
            return;

        foreach (PortConfig other in _ports)
        {
            if (ifname is not null && other.IfName == ifname)
            {
                Error(line, $"{context}: interface '{ifname}' is already taken by port '{other.Name}' on line {other.Line}");
                return;
            }
            if (pci is not null && other.Pci == pci)
            {
                Error(line, $"{context}: PCI device {pci} is already taken by port '{other.Name}' on line {other.Line}");
                return;
            }
        }
        _ports.Add(new PortConfig(name, driver, ifname, pci, queues, line) { Tso = tso, Lro = lro });
    }

    // vlan NAME parent PORT vnetid ID
    private void ParseVlan(string[] t, int line)
    {
        if (t.Length < 2)
        {
            Error(line, "vlan: missing name (vlan NAME parent PORT vnetid ID)");
            return;
        }
        string name = t[1];
        if (!DeclareName(name, "vlan", line))
            return;
        string context = $"vlan {name}";
        if (ReadOptions(t, 2, line, context, VlanOptions) is not { } options)
            return;
        bool ok = true;
        if (!options.TryGetValue("parent", out string? parent))
            ok = Fail(line, $"{context}: missing 'parent PORT'");
        int vnetId = 0;
        if (!options.TryGetValue("vnetid", out string? vnetIdText))
            ok = Fail(line, $"{context}: missing 'vnetid ID' (1-{VlanConfig.MaxVnetId})");
        else if (!Number(vnetIdText, 1, VlanConfig.MaxVnetId, line, context, "vnetid", out vnetId))
            ok = false;
        if (ok)
            _vlans.Add(new VlanConfig(name, parent!, vnetId, line));
    }

    // mtu NAME BYTES
    private void ParseMtu(string[] t, int line)
    {
        if (t.Length < 2)
        {
            Error(line, "mtu: missing interface and value (mtu NAME BYTES)");
            return;
        }
        string context = $"mtu {t[1]}";
        if (t.Length < 3)
        {
            Error(line, $"{context}: missing value");
            return;
        }
        if (TooManyArguments(t, 3, line, context, "value"))
            return;
        if (!Number(t[2], MtuConfig.MinInet, MtuConfig.Max, line, context, "value", out int mtu))
            return;
        foreach (MtuConfig other in _mtus)
        {
            if (other.Interface == t[1])
            {
                Error(line, $"{context}: already set on line {other.Line}");
                return;
            }
        }
        _mtus.Add(new MtuConfig(t[1], mtu, line));
    }

    /// <summary>The on|off value of option <paramref name="key"/> when given (null when not); an error, and <paramref name="ok"/> false, when it is neither.</summary>
    private bool? OnOff(Dictionary<string, string> options, string key, int line, string context, ref bool ok)
    {
        if (!options.TryGetValue(key, out string? value))
            return null;
        if (value is "on" or "off")
            return value == "on";
        ok = Fail(line, $"{context}: {key} '{value}' must be on or off");
        return null;
    }

    private bool Fail(int line, string message)
    {
        Error(line, message);
        return false;
    }
}
