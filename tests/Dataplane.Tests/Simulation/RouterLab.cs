using Dataplane.Wire;

namespace Dataplane.Tests.Simulation;

/// <summary>
/// The lab of DESIGN.md in a simulation: a client, a router (forwarding) and a server, on
/// 10.10.11.0/24 and fdd7:e83e:66bd:1011::/64 to the left of the router, 10.10.12.0/24 and
/// fdd7:e83e:66bd:1012::/64 to its right; the hosts route everything through the router. Each of the
/// two links has a model each way.
/// </summary>
internal sealed class RouterLab
{
    /// <summary>A millisecond of virtual time.</summary>
    public const long Ms = 1_000_000;

    /// <summary>A second of virtual time.</summary>
    public const long Second = 1_000_000_000;

    /// <summary>The MTUs of the four interfaces, left to right.</summary>
    public readonly record struct Mtus(int Client, int RouterLeft, int RouterRight, int Server)
    {
        /// <summary>Ethernet's 1500 everywhere.</summary>
        public static Mtus Ethernet => new(1500, 1500, 1500, 1500);
    }

    /// <summary>
    /// Builds the lab in <paramref name="network"/>; <paramref name="models"/> are client to router,
    /// router to client, router to server, server to router; each node has a pool of <paramref name="poolBuffers"/>.
    /// </summary>
    /// <remarks>With <paramref name="clientTso"/> or <paramref name="serverTso"/>, that host's port cuts the TCP super-segments its stack sends.</remarks>
    public RouterLab(SimulatedNetwork network, LinkModel[] models, Mtus? mtu = null, int poolBuffers = 1024, bool clientTso = false, bool serverTso = false)
    {
        Mtus mtus = mtu ?? Mtus.Ethernet;
        Network = network;
        Client = network.AddNode("client", forwarding: false, [new("10.10.11.1/24", "fdd7:e83e:66bd:1011::1/64", mtus.Client, clientTso)],
            new DefaultGateway(0, "10.10.11.2", "fdd7:e83e:66bd:1011::2"), poolBuffers);
        Router = network.AddNode("router", forwarding: true,
        [
            new("10.10.11.2/24", "fdd7:e83e:66bd:1011::2/64", mtus.RouterLeft),
            new("10.10.12.3/24", "fdd7:e83e:66bd:1012::3/64", mtus.RouterRight),
        ], poolBuffers: poolBuffers);
        Server = network.AddNode("server", forwarding: false, [new("10.10.12.4/24", "fdd7:e83e:66bd:1012::4/64", mtus.Server, serverTso)],
            new DefaultGateway(0, "10.10.12.3", "fdd7:e83e:66bd:1012::3"), poolBuffers);
        Left = network.Connect(Client, 0, Router, 0, models[0], models[1]);
        Right = network.Connect(Router, 1, Server, 0, models[2], models[3]);
    }

    /// <summary>The simulation the lab lives in.</summary>
    public SimulatedNetwork Network { get; }

    /// <summary>The left host: 10.10.11.1, fdd7:e83e:66bd:1011::1.</summary>
    public SimulatedNode Client { get; }

    /// <summary>The router: .2 on the left, .3 on the right.</summary>
    public SimulatedNode Router { get; }

    /// <summary>The right host: 10.10.12.4, fdd7:e83e:66bd:1012::4.</summary>
    public SimulatedNode Server { get; }

    /// <summary>Client to router.</summary>
    public SimulatedLink Left { get; }

    /// <summary>Router to server.</summary>
    public SimulatedLink Right { get; }

    /// <summary>The client's IPv4 address.</summary>
    public Ipv4Address ClientAddress => Client.Address(0);

    /// <summary>The client's IPv6 address.</summary>
    public Ipv6Address ClientAddress6 => Client.Address6(0);

    /// <summary>The server's IPv4 address.</summary>
    public Ipv4Address ServerAddress => Server.Address(0);

    /// <summary>The server's IPv6 address.</summary>
    public Ipv6Address ServerAddress6 => Server.Address6(0);

    /// <summary>
    /// Four link models drawn from the run's "links" stream: one seed in eight gets perfect links
    /// (then everything sent must arrive, once), the others impairments up to the given maxima.
    /// </summary>
    public static LinkModel[] DrawModels(SimulatedNetwork network, out bool perfect, double maxLoss = 0.1, double maxDuplicate = 0.05, double maxCorrupt = 0.05, double maxReorder = 0.3)
    {
        SimRandom random = SimRandom.Stream(network.Seed, "links");
        perfect = random.Chance(1.0 / 8);
        if (perfect)
            return [LinkModel.Perfect, LinkModel.Perfect, LinkModel.Perfect, LinkModel.Perfect];
        return [.. Enumerable.Range(0, 4).Select(_ => LinkModel.Draw(random, maxLoss, maxDuplicate, maxCorrupt, maxReorder))];
    }
}
