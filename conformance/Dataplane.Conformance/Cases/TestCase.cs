using Dataplane.Conformance.Labs;

namespace Dataplane.Conformance.Cases;

/// <summary>What a test needs of the system under test beyond forwarding.</summary>
public enum Feature
{
    /// <summary>IPv4 and IPv6 forwarding.</summary>
    Forwarding,

    /// <summary>Answering ICMP and ICMPv6 echo.</summary>
    IcmpEcho,

    /// <summary>A UDP echo service (<c>app echo udp</c>).</summary>
    UdpEcho,

    /// <summary>A UDP relay that copies through the application.</summary>
    UdpRelayCopy,

    /// <summary>A UDP relay that splices inside the stack.</summary>
    UdpRelaySplice,

    /// <summary>TCP endpoints in the stack: connections that end at the system under test or start there.</summary>
    Tcp,

    /// <summary>TCP relays (copy and splice) between two connections of the stack.</summary>
    TcpRelay,

    /// <summary>An iperf3-protocol server and client inside the stack (TCP control connection).</summary>
    Iperf3,

    /// <summary>Joining, receiving and sending IP multicast.</summary>
    Multicast,

    /// <summary>UDP datagrams larger than one packet buffer (reassembled from two fragments).</summary>
    LargeDatagrams,
}

/// <summary>Where a step of a test runs.</summary>
public enum Place
{
    /// <summary>The left Linux host.</summary>
    Left,

    /// <summary>The right Linux host.</summary>
    Right,

    /// <summary>
    /// The system under test. Linux runs the command; the dataplane's servers are its apps (its config),
    /// and its clients run through <c>dataplane ctl</c> (<see cref="PlanContext.Ctl"/>).
    /// </summary>
    Sut,
}

/// <summary>A process a test starts before its client and stops after it.</summary>
/// <param name="Place">Where it runs.</param>
/// <param name="Command">Its shell command line.</param>
/// <param name="ReadyText">Output that says it is ready; null to wait for <paramref name="ListenPort"/>.</param>
/// <param name="ListenPort">The port it listens on once ready ("tcp:5201", "udp:9000"); null with a ready text.</param>
/// <param name="EndsItself">Whether it ends on its own soon after the client (a receiver that reports when traffic stops); it is given 5 s to.</param>
public sealed record Server(Place Place, string Command, string? ReadyText = null, string? ListenPort = null, bool EndsItself = false);

/// <summary>What a test measured: bits per second, and the direction (send, recv, echo, rtt).</summary>
/// <param name="BitsPerSecond">The value.</param>
/// <param name="Direction">What was measured.</param>
/// <param name="Note">A short remark for the message, e.g. "0% loss".</param>
public sealed record Measurement(double BitsPerSecond, string Direction, string Note = "");

/// <summary>
/// How a test runs on one system under test: servers, then one client whose end ends the test,
/// then the value taken from the client's output (and the servers' output, in start order).
/// </summary>
/// <param name="Servers">Started in order, each waited for.</param>
/// <param name="Client">The client's place.</param>
/// <param name="ClientCommand">The client's shell command line.</param>
/// <param name="Value">Takes the value from the client's and servers' output; null when there is none.</param>
public sealed record Plan(
    IReadOnlyList<Server> Servers,
    Place Client,
    string ClientCommand,
    Func<string, IReadOnlyList<string>, Measurement?> Value)
{
    /// <summary>Why the test cannot run on this system under test (NORUN); null when it can.</summary>
    public string? Unrunnable { get; private init; }

    /// <summary>A plan that does not run, for <paramref name="reason"/>.</summary>
    public static Plan NotRunnable(string reason) => new([], Place.Left, "", (_, _) => null) { Unrunnable = reason };
}

/// <summary>What a plan is made from: the lab's addresses, the system under test, the length of a test, the tools' commands.</summary>
/// <param name="Addresses">The line's addresses.</param>
/// <param name="Sut">Which system under test the plan is for.</param>
/// <param name="Seconds">How long a throughput test sends.</param>
/// <param name="Tools">The commands of the peer tools by name (ping, iperf3, socat, udpbench).</param>
/// <param name="LeftInterface">The left host's interface toward the system under test.</param>
/// <param name="RightInterface">The right host's interface.</param>
/// <param name="SutLeftInterface">The system under test's left interface (Linux).</param>
/// <param name="SutRightInterface">The system under test's right interface (Linux).</param>
/// <param name="Ctl">
/// The dataplane's control command on its machine, <c>'BINARY' ctl -s 'SOCKET'</c>, quoted for the
/// shell, to which a client's command is appended (<c>iperf3 -c ...</c>); null when Linux is attached.
/// </param>
public sealed record PlanContext(
    Addressing Addresses,
    SutKind Sut,
    int Seconds,
    IReadOnlyDictionary<string, string> Tools,
    string LeftInterface,
    string RightInterface,
    string SutLeftInterface,
    string SutRightInterface,
    string? Ctl = null)
{
    /// <summary>The command of peer tool <paramref name="name"/>.</summary>
    public string Tool(string name) => Tools.TryGetValue(name, out string? command) ? command : name;

    /// <summary>An address of the lab in <paramref name="family"/>.</summary>
    public string Address(string who, int family) => Addresses.Of(who, family);
}

/// <summary>
/// One test of the matrix, named in the style of OpenBSD's netlink tests: the hosts along the
/// path, protocol and family, tool, streams, role, e.g. <c>linux-dataplane-linux-tcp4iperf-parallel-forward</c>.
/// </summary>
/// <param name="Name">The name.</param>
/// <param name="Description">What it does, in a few words.</param>
/// <param name="Needs">What the system under test must have.</param>
/// <param name="ThroughSut">Whether the system under test is in the path as a router only (then modifier direct can run it).</param>
/// <param name="Timeout">Its time limit in seconds for a test length of <c>seconds</c>.</param>
/// <param name="Make">Its plan for a context.</param>
public sealed record TestCase(
    string Name,
    string Description,
    IReadOnlyList<Feature> Needs,
    bool ThroughSut,
    Func<int, int> Timeout,
    Func<PlanContext, Plan> Make);

/// <summary>What the dataplane has landed, and why the rest is missing.</summary>
public static class DataplaneFeatures
{
    /// <summary>Why the dataplane cannot run a test needing <paramref name="feature"/>; null when it can.</summary>
    public static string? Missing(Feature feature) => feature switch
    {
        Feature.Multicast => "the dataplane has no multicast yet",
        _ => null,
    };
}
