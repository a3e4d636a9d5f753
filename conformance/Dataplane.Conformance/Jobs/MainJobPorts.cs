using System.Globalization;
using System.Text.RegularExpressions;

namespace Dataplane.Conformance.Jobs;

/// <summary>
/// One of the two ports of the main job's configuration, as the lab must cable it.
/// </summary>
/// <param name="Name">The port's name in the config.</param>
/// <param name="Driver">tap, afpacket or afxdp.</param>
/// <param name="IfName">The interface it takes: the tap it makes, or the veth end it sits on.</param>
/// <param name="Queues">Its queues: a veth under it gets as many of each.</param>
internal sealed record JobPort(string Name, string Driver, string IfName, int Queues)
{
    /// <summary>The dataplane makes a tap itself (the host's NIC once moved); the others sit on a veth end the lab makes.</summary>
    public bool IsTap => Driver == "tap";

    /// <summary>
    /// The host's NIC toward this port: the tap itself, or the far end of the port's veth
    /// (<paramref name="hostEnd"/>, left0 or right0).
    /// </summary>
    public string HostInterface(string hostEnd) => IsTap ? IfName : hostEnd;
}

/// <summary>
/// The left and right ports of a main-job configuration: the port with an IPv4 address in the
/// left network (10.10.11.0/24) faces the left host, the one in 10.10.12.0/24 the right host.
/// Any of the host drivers on either side (the example config: a tap left, afpacket right).
/// </summary>
internal static partial class MainJobPorts
{
    /// <summary>The drivers the namespace lab can cable: a tap the dataplane makes, or a veth end.</summary>
    public static readonly string[] Drivers = ["tap", "afpacket", "afxdp"];

    /// <summary>
    /// Reads the ports of <paramref name="config"/> (its text); a config the lab cannot cable is
    /// an <see cref="ArgumentException"/> whose message says what it needs.
    /// </summary>
    public static (JobPort Left, JobPort Right) Read(string config)
    {
        var ports = new Dictionary<string, JobPort>();
        var networks = new Dictionary<string, string>(); // port -> left|right
        foreach (string raw in config.Split('\n'))
        {
            string line = raw.Split('#')[0].Trim();
            if (PortLine().Match(line) is { Success: true } p)
            {
                string name = p.Groups["name"].Value, driver = p.Groups["driver"].Value;
                string rest = p.Groups["rest"].Value;
                string? ifname = Word(rest, "ifname");
                int queues = Word(rest, "queues") is string q ? int.Parse(q, CultureInfo.InvariantCulture) : 1;
                if (!Drivers.Contains(driver))
                    throw new ArgumentException($"port {name}: the main job's lab cables {string.Join(", ", Drivers)} ports, not {driver}");
                ports[name] = new JobPort(name, driver, ifname ?? throw new ArgumentException($"port {name}: no ifname"), queues);
            }
            else if (InetLine().Match(line) is { Success: true } a)
            {
                string address = a.Groups["address"].Value;
                if (address.StartsWith("10.10.11.", StringComparison.Ordinal))
                    networks[a.Groups["port"].Value] = "left";
                else if (address.StartsWith("10.10.12.", StringComparison.Ordinal))
                    networks[a.Groups["port"].Value] = "right";
            }
        }
        JobPort Side(string side) =>
            networks.Where(n => n.Value == side).Select(n => ports.GetValueOrDefault(n.Key)).FirstOrDefault(p => p is not null)
            ?? throw new ArgumentException($"the main job's lab needs a port addressed in the {side} network ({(side == "left" ? "10.10.11.0/24" : "10.10.12.0/24")}), " +
                "as in dataplane/Dataplane/examples/dataplane.conf");
        (JobPort left, JobPort right) = (Side("left"), Side("right"));
        if (left.IfName == right.IfName)
            throw new ArgumentException($"ports {left.Name} and {right.Name} name the same interface {left.IfName}");
        return (left, right);
    }

    private static string? Word(string rest, string key)
    {
        string[] words = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int at = Array.IndexOf(words, key);
        return at >= 0 && at + 1 < words.Length ? words[at + 1] : null;
    }

    [GeneratedRegex(@"^port\s+(?<name>\S+)\s+driver\s+(?<driver>\S+)(?<rest>.*)$")]
    private static partial Regex PortLine();

    [GeneratedRegex(@"^inet\s+(?<port>\S+)\s+(?<address>[0-9.]+)/")]
    private static partial Regex InetLine();
}
