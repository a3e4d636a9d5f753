using System.Globalization;
using System.Text;
using Dataplane.Ports;
using Dataplane.Stack;

namespace Dataplane.Control;

/// <summary>
/// <c>ctl ifconfig</c>: every port in the layout of OpenBSD's ifconfig, a header line with the flags
/// and MTU, then tab-indented detail lines, one queue a line, and the file of a <c>ctl capture</c>
/// armed on the port.
/// </summary>
internal static class IfconfigReport
{
    /// <summary>The report for every port of <paramref name="view"/>; <paramref name="capture"/> says which are being captured.</summary>
    public static string Write(DataplaneView view, CaptureService? capture = null)
    {
        var text = new StringBuilder();
        for (int p = 0; p < view.Ports.Count; p++)
            Write(text, view.Ports[p], view.Stack.Interfaces[p], capture?.FileOf(p), view.Watch?.Health(p));
        return text.ToString();
    }

    private static void Write(StringBuilder text, IPort port, NetInterface iface, string? captureFile, PortHealth? health)
    {
        // A port the dataplane runs on is always UP (it was started); RUNNING is the link, as in BSD.
        string flags = port.LinkUp && health?.Failure is null ? "UP,RUNNING" : "UP";
        string[] capabilities = [.. DataplaneView.CapabilityNames(port.Capabilities)];
        Line(text, $"{port.Name}: flags=<{flags}> mtu {port.Mtu}");
        Line(text, $"\tlladdr {port.Mac}");
        Line(text, $"\tdriver {port.Driver}{(port.Mode is string mode ? $" ({mode})" : "")} queues {port.QueueCount}");
        Line(text, $"\thwfeatures=<{(capabilities.Length == 0 ? "none" : string.Join(',', capabilities).ToUpperInvariant())}>");
        // What the stack does with the port, the config's switches applied to what the driver can.
        bool tso = (iface.Capabilities & PortCapabilities.Tso) != 0, lro = (iface.Capabilities & PortCapabilities.Lro) != 0;
        string merge = !lro ? "off (super-frames cut at input)" : (port.Capabilities & PortCapabilities.Lro) != 0 ? "on" : "on (merged in software)";
        Line(text, $"\toffload: tso {(tso ? "on" : "off (super-frames cut in software)")}, lro {merge}");
        bool up = port.LinkUp;
        Line(text, $"\tstatus: {(health?.Failure is string failure ? $"device failed ({failure})" : up ? "active" : "no carrier")}");
        if (health is not null)
        {
            // The link's history since start, and the device's faults by name, as the watch counted them.
            Line(text, $"\tlink: {health.LinkDowns} down, {health.LinkUps} up");
            foreach ((string name, long count) in health.Faults())
                Line(text, $"\tdevice error: {name}: {count}");
        }
        foreach (InterfaceAddress4 a in iface.Ipv4)
        {
            string broadcast = a.PrefixLength < 31 ? $" broadcast {a.Broadcast}" : "";
            Line(text, $"\tinet {a.Address} netmask 0x{a.Mask:x8}{broadcast}");
        }
        foreach (InterfaceAddress6 a in iface.Ipv6)
        {
            // OpenBSD's layout: the scope of a link-local address after %, and the DAD state as a flag.
            string scope = a.Address.IsLinkLocal ? $"%{iface.Name}" : "";
            string state = a.State switch { AddressState.Tentative => " tentative", AddressState.Duplicated => " duplicated", _ => "" };
            string scopeId = a.Address.IsLinkLocal ? $" scopeid 0x{iface.Index + 1:x}" : "";
            Line(text, $"\tinet6 {a.Address}{scope} prefixlen {a.PrefixLength}{state}{scopeId}");
        }
        for (int q = 0; q < port.QueueCount; q++)
        {
            QueueCounters c = port.Counters(q);
            // The frames whose device hash placed them, for a port whose device reports the engine's.
            string hashed = (port.Capabilities & PortCapabilities.RssHash) != 0 ? $", rx hashed by the device {c.ReceivedHashed}" : "";
            Line(text, $"\tqueue {q}: rx {c.ReceivedPackets} packets {c.ReceivedBytes} bytes, tx {c.TransmittedPackets} packets {c.TransmittedBytes} bytes, rx drops {c.ReceiveDrops}, tx drops {c.TransmitDrops}, errors {c.Errors}{hashed}");
        }
        if (captureFile is not null)
            Line(text, $"\tcapturing to {captureFile}");
    }

    private static void Line(StringBuilder text, FormattableString line)
        => text.Append(line.ToString(CultureInfo.InvariantCulture)).Append('\n');
}
