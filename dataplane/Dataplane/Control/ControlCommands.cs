namespace Dataplane.Control;

/// <summary>Runs one control request against a running dataplane and returns the reply.</summary>
internal static class ControlCommands
{
    /// <summary>What lands each command that is not there yet.</summary>
    private static readonly (string Words, string LandsWith)[] Unavailable =
    [
        ("netstat -an", "sockets land with the TCP and UDP layers"),
        ("route show", "the routing table lands with the network layer (issue 4)"),
        ("arp -a", "the ARP cache lands with the network layer (issue 4)"),
        ("ndp -a", "the neighbour cache lands with the network layer (issue 4)"),
        ("capture", "capture lands with the pcapng writer (issue 3)"),
    ];

    /// <summary>The reply to the request line <paramref name="request"/>.</summary>
    public static ControlReply Execute(string request, DataplaneView view)
    {
        string line = string.Join(' ', request.Split(' ', '\t', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        switch (line)
        {
            case "ifconfig":
                return new(ControlStatus.Ok, IfconfigReport.Write(view));
            case "netstat -s":
                return new(ControlStatus.Ok, NetstatReport.Write(view));
            case "stats --json":
                return new(ControlStatus.Ok, StatsJson.Write(view) + "\n");
        }
        foreach ((string words, string landsWith) in Unavailable)
        {
            if (line == words || line.StartsWith(words + " ", StringComparison.Ordinal))
                return new(ControlStatus.Unavailable, $"not available yet: {landsWith}\n");
        }
        return new(ControlStatus.Error, $"unknown command '{line}'\n");
    }
}
