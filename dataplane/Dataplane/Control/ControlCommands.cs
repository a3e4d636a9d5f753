using Dataplane.Stack;

namespace Dataplane.Control;

/// <summary>Runs one control request against a running dataplane and returns the reply.</summary>
internal static class ControlCommands
{
    /// <summary>The reply to the request line <paramref name="request"/>; <paramref name="capture"/> serves <c>capture</c>, <paramref name="iperf3"/> <c>iperf3</c>.</summary>
    public static ControlReply Execute(string request, DataplaneView view, CaptureService? capture = null, Iperf3Command? iperf3 = null)
    {
        // Both separators in one array: Split(' ', '\t', options) would take the tab for a count
        // (char to int) and cut the request into at most 9 pieces, the last one holding the rest.
        string[] split = request.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string line = string.Join(' ', split);
        if (split.Length > 0 && split[0] == "capture")
            return Capture(split, capture);
        if (split.Length > 0 && split[0] == "iperf3")
        {
            return iperf3 is null
                ? new(ControlStatus.Unavailable, "not available yet: this dataplane runs no iperf3 client\n")
                : iperf3.Execute(split);
        }
        if (split.Length > 0 && split[0] == "route")
            return RouteCommand.Execute(split, view.Stack.Routes, gateway => Runtime.StackBuilder.GatewayInterface(view.Stack, gateway), [.. view.Stack.Interfaces.Select(i => i.Name)]);
        switch (line)
        {
            case "ifconfig":
                return new(ControlStatus.Ok, IfconfigReport.Write(view, capture));
            case "netstat -an":
                return new(ControlStatus.Ok, SocketReport.Write(view.Stack));
            case "netstat -s":
                return new(ControlStatus.Ok, NetstatReport.Write(view));
            case "stats --json":
                return new(ControlStatus.Ok, StatsJson.Write(view) + "\n");
            case "arp -a" or "arp -an":
                return new(ControlStatus.Ok, NeighborReport.WriteArp(view.Stack));
            case "ndp -a" or "ndp -an":
                return new(ControlStatus.Ok, NeighborReport.WriteNdp(view.Stack));
        }
        return new(ControlStatus.Error, $"unknown command '{line}'\n");
    }

    /// <summary><c>capture PORT FILE [COUNT]</c>, FILE an absolute path (ctl resolves it).</summary>
    private static ControlReply Capture(string[] words, CaptureService? capture)
    {
        if (capture is null)
            return new(ControlStatus.Unavailable, "not available yet: this dataplane has no capture\n");
        if (words.Length is < 3 or > 4)
            return new(ControlStatus.Error, "usage: capture PORT FILE.pcapng [COUNT]\n");
        int count = CaptureService.DefaultCount;
        if (words.Length == 4 && (!int.TryParse(words[3], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out count) || count < 1))
            return new(ControlStatus.Error, $"capture: COUNT '{words[3]}' is not a positive number\n");
        return capture.Capture(words[1], words[2], count);
    }
}
