using System.Text;

namespace Dataplane.Stack;

/// <summary>
/// What <c>netstat -s</c> and <c>stats --json</c> call each counter: the heading of each group, a
/// line of text per counter in the words of BSD's netstat, and a snake_case key for JSON made from
/// the enum name. The texts are indexed by the counter enums; a test checks every enum has one each.
/// It also says which counters are errors (<see cref="IsError"/>), so that a test runner can tell
/// "an error counter moved" from ordinary traffic without guessing from names.
/// </summary>
internal static class CounterNames
{
    /// <summary>The groups, in print order.</summary>
    public static readonly CounterGroup[] Groups = Enum.GetValues<CounterGroup>();

    /// <summary>The heading (and JSON key) of <paramref name="group"/>, as netstat names the protocol.</summary>
    public static string Heading(CounterGroup group) => group switch
    {
        CounterGroup.Ether => "ether",
        CounterGroup.Arp => "arp",
        CounterGroup.Ip => "ip",
        CounterGroup.Icmp => "icmp",
        CounterGroup.Ip6 => "ip6",
        CounterGroup.Icmp6 => "icmp6",
        _ => "udp",
    };

    /// <summary>The line texts of <paramref name="group"/>, by counter.</summary>
    public static string[] Texts(CounterGroup group) => group switch
    {
        CounterGroup.Ether => Ether,
        CounterGroup.Arp => Arp,
        CounterGroup.Ip => Ip,
        CounterGroup.Icmp => Icmp,
        CounterGroup.Ip6 => Ip6,
        CounterGroup.Icmp6 => Icmp6,
        _ => Udp,
    };

    /// <summary>The JSON keys of <paramref name="group"/>, by counter: the enum names in snake_case.</summary>
    public static string[] Keys(CounterGroup group) => group switch
    {
        CounterGroup.Ether => Snake(Enum.GetNames<EtherCounter>()),
        CounterGroup.Arp => Snake(Enum.GetNames<ArpCounter>()),
        CounterGroup.Ip => Snake(Enum.GetNames<IpCounter>()),
        CounterGroup.Icmp => Snake(Enum.GetNames<IcmpCounter>()),
        CounterGroup.Ip6 => Snake(Enum.GetNames<Ip6Counter>()),
        CounterGroup.Icmp6 => Snake(Enum.GetNames<Icmp6Counter>()),
        _ => Snake(Enum.GetNames<UdpCounter>()),
    };

    /// <summary>
    /// Whether counter <paramref name="counter"/> of <paramref name="group"/> counts an error: bad
    /// input, resources running out, or neighbours and addresses in trouble. Policy drops, traffic
    /// not meant for us and ordinary protocol events are not errors.
    /// </summary>
    public static bool IsError(CounterGroup group, int counter) => group switch
    {
        CounterGroup.Ether => EtherErrors.Contains((EtherCounter)counter),
        CounterGroup.Arp => ArpErrors.Contains((ArpCounter)counter),
        CounterGroup.Ip => IpErrors.Contains((IpCounter)counter),
        CounterGroup.Icmp => IcmpErrors.Contains((IcmpCounter)counter),
        CounterGroup.Ip6 => Ip6Errors.Contains((Ip6Counter)counter),
        CounterGroup.Icmp6 => Icmp6Errors.Contains((Icmp6Counter)counter),
        _ => UdpErrors.Contains((UdpCounter)counter),
    };

    // Runt frames and frames the input path cannot take; other EtherTypes, other stations' frames and our own echoes are not errors.
    private static readonly EtherCounter[] EtherErrors = [EtherCounter.TooShort, EtherCounter.Chained];

    // Malformed packets, another host claiming our address, and neighbours that never answered; martian senders are a policy drop.
    private static readonly ArpCounter[] ArpErrors =
    [
        ArpCounter.BadFormat, ArpCounter.AddressConflict, ArpCounter.HeldDropped, ArpCounter.ResolutionFailed,
    ];

    // Malformed headers and fragments, reassembly giving up, and no buffer; martians, source routes, no route and TTL are policy or routing outcomes.
    private static readonly IpCounter[] IpErrors =
    [
        IpCounter.TooShort, IpCounter.BadVersion, IpCounter.BadHeaderLength, IpCounter.BadLength, IpCounter.BadChecksum,
        IpCounter.FragmentsDropped, IpCounter.FragmentsTimedOut, IpCounter.FragmentsMalformed, IpCounter.FragmentsDuplicate,
        IpCounter.FragmentsAfterDiscard, IpCounter.ReassemblyOverlapping, IpCounter.ReassemblyTooManyFragments,
        IpCounter.ReassemblyOutOfMemory, IpCounter.NoBuffer,
    ];

    // Only malformed messages; ICMP errors sent or received, rate limiting and ignored broadcast echoes are the protocol working.
    private static readonly IcmpCounter[] IcmpErrors = [IcmpCounter.TooShort, IcmpCounter.BadChecksum];

    // As for IPv4, plus bad extension headers; too big, beyond scope and other groups' multicast are routing outcomes.
    private static readonly Ip6Counter[] Ip6Errors =
    [
        Ip6Counter.TooShort, Ip6Counter.BadVersion, Ip6Counter.BadLength, Ip6Counter.BadExtensionHeader,
        Ip6Counter.FragmentsDropped, Ip6Counter.FragmentsTimedOut, Ip6Counter.FragmentsMalformed, Ip6Counter.FragmentsDuplicate,
        Ip6Counter.FragmentsAfterDiscard, Ip6Counter.ReassemblyOverlapping, Ip6Counter.ReassemblyTooManyFragments,
        Ip6Counter.ReassemblyOutOfMemory, Ip6Counter.NoBuffer,
    ];

    // Malformed messages and neighbour discovery (RFC 4861 7.1), duplicate addresses, and neighbours that never answered; foreign targets are other hosts' business.
    private static readonly Icmp6Counter[] Icmp6Errors =
    [
        Icmp6Counter.TooShort, Icmp6Counter.BadChecksum, Icmp6Counter.NdBadHopLimit, Icmp6Counter.NdBadFormat,
        Icmp6Counter.DuplicateAddresses, Icmp6Counter.HeldDropped, Icmp6Counter.ResolutionFailed,
    ];

    // Malformed datagrams and datagrams lost for want of room; no port, zero IPv6 checksums and refusing apps are the protocol working.
    private static readonly UdpCounter[] UdpErrors =
    [
        UdpCounter.BadLength, UdpCounter.BadChecksum, UdpCounter.TooLarge, UdpCounter.SocketFull, UdpCounter.SendFailed,
        UdpCounter.RelaySessionsRefused,
    ];

    private static readonly string[] Ether =
    [
        "frames shorter than an Ethernet header",
        "frames of an unknown EtherType",
        "unicast frames for another station",
        "frames from our own address",
        "chained frames not taken by the input path",
    ];

    private static readonly string[] Arp =
    [
        "packets received",
        "packets with a bad format",
        "requests for our addresses",
        "packets about a foreign target address",
        "replies received",
        "packets from a martian sender",
        "packets claiming one of our addresses",
        "requests sent",
        "replies sent",
        "announcements sent",
        "packets held for resolution",
        "held packets dropped",
        "neighbours that did not answer",
    ];

    private static readonly string[] Ip =
    [
        "total packets received",
        "packets too short",
        "packets with a bad version",
        "packets with a bad header length",
        "packets with a bad total length",
        "bad header checksums",
        "packets from a martian source",
        "packets to a martian destination",
        "packets for us with a zero TTL",
        "source-routed packets dropped",
        "packets for this host",
        "packets for an unknown or unsupported protocol",
        "packets not for us while not forwarding",
        "packets forwarded",
        "packets not forwarded: no route",
        "packets not forwarded: TTL exceeded",
        "packets not forwarded: need fragmentation with don't fragment set",
        "packets not forwarded: broadcast or multicast",
        "packets sent from this host",
        "output datagrams fragmented",
        "fragments created",
        "fragments received",
        "fragments dropped (bad, overlapping, excessive or out of memory)",
        "fragments dropped after timeout",
        "packets reassembled",
        "malformed fragments dropped (bad length, past 65535 bytes or past the end)",
        "duplicate fragments dropped",
        "fragments dropped: their datagram was discarded",
        "datagrams discarded: overlapping fragments",
        "datagrams discarded: too many fragments",
        "datagrams discarded: reassembly memory full",
        "output packets dropped: no buffer",
    ];

    private static readonly string[] Icmp =
    [
        "messages received",
        "messages too short",
        "bad checksums",
        "echo replies sent",
        "broadcast or multicast echo requests ignored",
        "error messages received",
        "other messages received",
        "error messages sent",
        "errors not sent: rate limit",
        "errors not sent: about an error, a fragment or a non-unicast packet",
    ];

    private static readonly string[] Ip6 =
    [
        "total packets received",
        "packets too short",
        "packets with a bad version",
        "packets with a bad payload length",
        "packets from a martian source",
        "packets to a martian destination",
        "packets with bad extension headers or options",
        "packets with an unknown next header",
        "packets for this host",
        "packets not for us while not forwarding",
        "multicast packets for groups we are not in",
        "packets forwarded",
        "packets not forwarded: no route",
        "packets not forwarded: hop limit exceeded",
        "packets not forwarded: too big",
        "packets not forwarded: beyond scope",
        "packets sent from this host",
        "output datagrams fragmented",
        "fragments created",
        "fragments received",
        "fragments dropped (bad, overlapping, excessive or out of memory)",
        "fragments dropped after timeout",
        "packets reassembled",
        "malformed fragments dropped (bad length, past 65535 bytes or past the end)",
        "duplicate fragments dropped",
        "fragments dropped: their datagram was discarded",
        "datagrams discarded: overlapping fragments",
        "datagrams discarded: too many fragments",
        "datagrams discarded: reassembly memory full",
        "output packets dropped: no buffer",
    ];

    private static readonly string[] Icmp6 =
    [
        "messages received",
        "messages too short",
        "bad checksums",
        "echo replies sent",
        "error messages received",
        "other messages received",
        "error messages sent",
        "errors not sent: rate limit",
        "errors not sent: about an error or a multicast packet",
        "neighbour discovery messages with a bad hop limit",
        "neighbour discovery messages with a bad format",
        "neighbour solicitations received",
        "neighbour advertisements received",
        "neighbour discovery messages about a foreign target",
        "neighbour solicitations sent",
        "neighbour advertisements sent",
        "duplicate address detection probes sent",
        "duplicate addresses detected",
        "packets held for resolution",
        "held packets dropped",
        "neighbours that did not answer",
    ];

    private static readonly string[] Udp =
    [
        "datagrams received",
        "datagrams with a bad length",
        "bad checksums",
        "IPv6 datagrams with a zero checksum",
        "datagrams larger than one buffer, not delivered",
        "datagrams to a port nobody listens on",
        "broadcast or multicast datagrams to a port nobody listens on",
        "datagrams delivered",
        "datagrams dropped: socket queue full",
        "datagrams sent",
        "datagrams not sent: no route, no buffer or too large",
        "datagrams moved by splice inside the stack",
        "datagrams an app would not answer (broadcast, or from a port that could loop)",
        "relay sessions opened",
        "relay sessions closed after their idle timeout",
        "datagrams of new relay clients dropped (session table full, or no route to the far end)",
    ];

    private static string[] Snake(string[] names)
    {
        var keys = new string[names.Length];
        for (int i = 0; i < names.Length; i++)
        {
            var text = new StringBuilder();
            foreach (char c in names[i])
            {
                if (char.IsUpper(c) && text.Length > 0)
                    text.Append('_');
                text.Append(char.ToLowerInvariant(c));
            }
            keys[i] = text.ToString();
        }
        return keys;
    }
}
