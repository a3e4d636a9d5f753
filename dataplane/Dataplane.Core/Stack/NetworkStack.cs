using Dataplane.Stack.Ip;
using Dataplane.Stack.Neighbors;
using Dataplane.Stack.Routing;
using Dataplane.Stack.Transport;
using Dataplane.Wire;

using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Stack;

/// <summary>
/// What every worker of the stack shares: the interfaces, the routing tables, the neighbour
/// caches and the switches. Built before the workers start. Workers read it without locks: the
/// interfaces do not change, the routing table is swapped whole, and the neighbour caches are
/// read lock-free (see <see cref="NeighborTable{TAddress}"/>).
/// </summary>
internal sealed class NetworkStack
{
    /// <summary>
    /// A stack over <paramref name="interfaces"/>, indexed by port, on a routing table of their
    /// connected routes; or on <paramref name="routes"/> as it is, when given (the simulation shares
    /// one among its runs of a configuration rather than build a 32 MiB tbl24 per run).
    /// </summary>
    public NetworkStack(NetInterface[] interfaces, bool forwarding, Routes? routes = null)
    {
        Interfaces = interfaces;
        Forwarding = forwarding;
        Arp = new NeighborTable<Ipv4Address>[interfaces.Length];
        Nd = new NeighborTable<Ipv6Address>[interfaces.Length];
        for (int i = 0; i < interfaces.Length; i++)
        {
            Arp[i] = new NeighborTable<Ipv4Address>();
            Nd[i] = new NeighborTable<Ipv6Address>();
        }
        Local = new LocalAddresses(interfaces);
        if (routes is not null)
        {
            Routes = routes;
            return;
        }
        Routes = new Routes();
        foreach (NetInterface iface in interfaces)
        {
            // Connected routes, from the addresses (RFC 1812 5.2.4.1's directly connected networks).
            foreach (InterfaceAddress4 a in iface.Ipv4)
                Routes.Add(a.Network, a.PrefixLength, new NextHop4(iface.Index, Ipv4Address.Any, RouteOrigin.Connected));
            foreach (InterfaceAddress6 a in iface.Ipv6)
            {
                if (!a.Address.IsLinkLocal)
                    Routes.Add(Ipv6Network(a.Address, a.PrefixLength), a.PrefixLength, new NextHop6(iface.Index, Ipv6Address.Any, RouteOrigin.Connected));
            }
        }
    }

    /// <summary>The interfaces, by port index.</summary>
    public NetInterface[] Interfaces { get; }

    /// <summary><c>set forwarding</c>: route packets that are not for us.</summary>
    public bool Forwarding { get; }

    /// <summary>The routing tables; the control thread changes them, workers read <see cref="Routes.Current"/>.</summary>
    public Routes Routes { get; }

    /// <summary>The ARP cache of each interface.</summary>
    public NeighborTable<Ipv4Address>[] Arp { get; }

    /// <summary>The IPv6 neighbour cache of each interface.</summary>
    public NeighborTable<Ipv6Address>[] Nd { get; }

    /// <summary>The UDP socket table of every worker built so far, for <c>netstat -an</c>; each worker adds its own.</summary>
    public IReadOnlyList<UdpSocketTable> UdpTables => Volatile.Read(ref _udpTables);

    private UdpSocketTable[] _udpTables = [];
    private readonly Lock _udpTablesGate = new();

    /// <summary>Adds a worker's UDP socket table (while the workers are built, before they run).</summary>
    internal void AddUdpTable(UdpSocketTable table)
    {
        lock (_udpTablesGate)
            Volatile.Write(ref _udpTables, [.. _udpTables, table]);
    }

    /// <summary>The TCP socket table of every worker built so far, for <c>netstat -an</c>; each worker adds its own.</summary>
    public IReadOnlyList<TcpSocketTable> TcpTables => Volatile.Read(ref _tcpTables);

    private TcpSocketTable[] _tcpTables = [];

    /// <summary>Adds a worker's TCP socket table (while the workers are built, before they run).</summary>
    internal void AddTcpTable(TcpSocketTable table)
    {
        lock (_udpTablesGate)
            Volatile.Write(ref _tcpTables, [.. _tcpTables, table]);
    }

    /// <summary><c>set tcp connections</c>: the most TCP connections of the dataplane, split among its workers.</summary>
    public int TcpConnections { get; init; } = TcpSocketTable.DefaultConnections;

    /// <summary><c>set tcp buffer</c>: the send and the receive buffer of each TCP connection, in bytes.</summary>
    public int TcpBuffer { get; init; } = TcpSocketTable.DefaultBuffer;

    /// <summary><c>set tcp congestion</c>: the congestion control of new TCP connections.</summary>
    public CongestionAlgorithm TcpCongestion { get; init; }

    /// <summary>Reports of events worth a line in the log (a duplicate address); the host prints them.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Every address of every interface, for "is this for us" in one lookup.</summary>
    public LocalAddresses Local { get; }

    /// <summary>True when <paramref name="address"/> is an address of any interface (the weak host model of RFC 1122 3.3.4.2: any interface's address is ours).</summary>
    public bool IsOurs(Ipv4Address address) => Local.IsOurs(address);

    /// <summary>Our usable IPv6 address equal to <paramref name="address"/>, on any interface, or null.</summary>
    public InterfaceAddress6? Owner(in Ipv6Address address) => Local.Find(address) is { Usable: true } a ? a : null;

    /// <summary>The interface whose connected IPv4 prefix holds <paramref name="address"/>, or null.</summary>
    public NetInterface? ConnectedTo(Ipv4Address address)
    {
        foreach (NetInterface iface in Interfaces)
        {
            foreach (InterfaceAddress4 a in iface.Ipv4)
            {
                if (a.Contains(address))
                    return iface;
            }
        }
        return null;
    }

    /// <summary>The interface whose connected IPv6 prefix holds <paramref name="address"/>, or null.</summary>
    public NetInterface? ConnectedTo(in Ipv6Address address)
    {
        foreach (NetInterface iface in Interfaces)
        {
            foreach (InterfaceAddress6 a in iface.Ipv6)
            {
                if (!a.Address.IsLinkLocal && a.Contains(address))
                    return iface;
            }
        }
        return null;
    }

    /// <summary><paramref name="address"/> with the bits after <paramref name="prefixLength"/> cleared.</summary>
    public static Ipv6Address Ipv6Network(in Ipv6Address address, int prefixLength)
    {
        Span<byte> b = stackalloc byte[Ipv6Address.Length];
        address.CopyTo(b);
        for (int bit = prefixLength; bit < 128; bit++)
            b[bit >> 3] &= (byte)~(0x80 >> (bit & 7));
        return new Ipv6Address(b);
    }
}
