namespace Dataplane.Stack;

/// <summary>The protocols the stack counts for, in the order <c>netstat -s</c> prints them.</summary>
internal enum CounterGroup
{
    /// <summary>Ethernet framing.</summary>
    Ether,

    /// <summary>ARP, RFC 826.</summary>
    Arp,

    /// <summary>IPv4 input, output and forwarding.</summary>
    Ip,

    /// <summary>ICMP, RFC 792.</summary>
    Icmp,

    /// <summary>IPv6 input, output and forwarding.</summary>
    Ip6,

    /// <summary>ICMPv6 and neighbour discovery, RFC 4443 and RFC 4861.</summary>
    Icmp6,

    /// <summary>UDP, RFC 768.</summary>
    Udp,
}

/// <summary>Ethernet framing counters.</summary>
internal enum EtherCounter
{
    /// <summary>Frames shorter than an Ethernet header.</summary>
    TooShort,

    /// <summary>Frames of an EtherType the stack does not speak.</summary>
    UnknownType,

    /// <summary>Unicast frames addressed to another station (seen in promiscuous mode).</summary>
    NotForUs,

    /// <summary>Frames from our own MAC address (a loop).</summary>
    FromSelf,

    /// <summary>Frames whose buffer chain the input path does not walk yet (jumbo or super-frames to us).</summary>
    Chained,
}

/// <summary>ARP counters.</summary>
internal enum ArpCounter
{
    /// <summary>ARP packets received.</summary>
    Received,

    /// <summary>Hardware, protocol, lengths or operation other than Ethernet/IPv4 request or reply.</summary>
    BadFormat,

    /// <summary>Requests for one of our addresses, answered.</summary>
    RequestsForUs,

    /// <summary>Requests and replies about another host's address.</summary>
    ForeignTarget,

    /// <summary>Replies received.</summary>
    RepliesReceived,

    /// <summary>Packets whose sender address is not a usable unicast address (martian).</summary>
    BadSender,

    /// <summary>Packets that claim one of our addresses from another MAC address.</summary>
    AddressConflict,

    /// <summary>Requests sent to resolve a next hop.</summary>
    RequestsSent,

    /// <summary>Replies sent.</summary>
    RepliesSent,

    /// <summary>Gratuitous announcements of our addresses sent.</summary>
    AnnouncementsSent,

    /// <summary>Packets queued while their next hop was resolved.</summary>
    Held,

    /// <summary>Held packets dropped: the queue was full or resolution failed.</summary>
    HeldDropped,

    /// <summary>Neighbours that did not answer in time.</summary>
    ResolutionFailed,
}

/// <summary>IPv4 counters, named as BSD's <c>struct ipstat</c>.</summary>
internal enum IpCounter
{
    /// <summary>Total packets received.</summary>
    Received,

    /// <summary>Packets shorter than the minimum header.</summary>
    TooShort,

    /// <summary>Version other than 4.</summary>
    BadVersion,

    /// <summary>Header length below 20 or beyond the packet.</summary>
    BadHeaderLength,

    /// <summary>Total length below the header length or beyond the frame.</summary>
    BadLength,

    /// <summary>Header checksum did not verify.</summary>
    BadChecksum,

    /// <summary>Source address not a usable unicast address (RFC 1812 5.3.7).</summary>
    MartianSource,

    /// <summary>Destination address that must never appear on a wire (loopback, 0.0.0.0).</summary>
    MartianDestination,

    /// <summary>Packets to us with time to live 0.</summary>
    ZeroTtl,

    /// <summary>Source-routed packets (RFC 7126 recommends dropping them).</summary>
    SourceRouted,

    /// <summary>Packets delivered to a protocol of this host.</summary>
    Delivered,

    /// <summary>Packets for an unknown or unsupported protocol.</summary>
    NoProtocol,

    /// <summary>Packets not for us while forwarding is off.</summary>
    NotForwarding,

    /// <summary>Packets forwarded.</summary>
    Forwarded,

    /// <summary>Packets not forwarded: no route to the destination.</summary>
    NoRoute,

    /// <summary>Packets not forwarded: time to live expired.</summary>
    TtlExceeded,

    /// <summary>Packets not forwarded: larger than the MTU with don't-fragment set.</summary>
    CantFragment,

    /// <summary>Packets not forwarded: broadcast or multicast destination.</summary>
    NotForwardable,

    /// <summary>Packets sent by this host.</summary>
    LocalOut,

    /// <summary>Packets fragmented on output.</summary>
    Fragmented,

    /// <summary>Fragments created.</summary>
    FragmentsCreated,

    /// <summary>Fragments received.</summary>
    Fragments,

    /// <summary>Fragments dropped (bad, overlapping, excessive, or out of reassembly memory).</summary>
    FragmentsDropped,

    /// <summary>Fragments dropped after reassembly timed out.</summary>
    FragmentsTimedOut,

    /// <summary>Packets reassembled.</summary>
    Reassembled,

    /// <summary>Fragments dropped as malformed: a length not a multiple of 8 before the last, past 65535 bytes, or past the datagram's end.</summary>
    FragmentsMalformed,

    /// <summary>Fragments dropped as exact duplicates of one held.</summary>
    FragmentsDuplicate,

    /// <summary>Fragments dropped because their datagram was discarded earlier (overlap, too many) and has not timed out yet.</summary>
    FragmentsAfterDiscard,

    /// <summary>Datagrams discarded because two of their fragments overlapped (RFC 5722).</summary>
    ReassemblyOverlapping,

    /// <summary>Datagrams discarded because they came in more fragments than a datagram may.</summary>
    ReassemblyTooManyFragments,

    /// <summary>Datagrams discarded, oldest first, to make room: too many datagrams or fragments in reassembly.</summary>
    ReassemblyOutOfMemory,

    /// <summary>Output packets dropped: no buffer.</summary>
    NoBuffer,
}

/// <summary>ICMP counters.</summary>
internal enum IcmpCounter
{
    /// <summary>Messages received.</summary>
    Received,

    /// <summary>Messages shorter than the ICMP header.</summary>
    TooShort,

    /// <summary>Checksum did not verify.</summary>
    BadChecksum,

    /// <summary>Echo requests answered.</summary>
    EchoReplies,

    /// <summary>Echo requests to a broadcast or multicast address, ignored (RFC 1122 3.2.2.6 allows it).</summary>
    BroadcastEchoIgnored,

    /// <summary>Error messages received (unreachable, time exceeded, parameter problem).</summary>
    ErrorsReceived,

    /// <summary>Other message types received and ignored.</summary>
    OtherReceived,

    /// <summary>Error messages sent.</summary>
    ErrorsSent,

    /// <summary>Errors not sent: the rate limit held them back.</summary>
    RateLimited,

    /// <summary>Errors not sent: about an ICMP error, a fragment, or a non-unicast packet (RFC 1122 3.2.2).</summary>
    ErrorsSuppressed,
}

/// <summary>IPv6 counters, named as BSD's <c>struct ip6stat</c>.</summary>
internal enum Ip6Counter
{
    /// <summary>Total packets received.</summary>
    Received,

    /// <summary>Packets shorter than the header.</summary>
    TooShort,

    /// <summary>Version other than 6.</summary>
    BadVersion,

    /// <summary>Payload length beyond the frame.</summary>
    BadLength,

    /// <summary>Source address multicast, loopback or otherwise unusable.</summary>
    MartianSource,

    /// <summary>Destination address loopback or unspecified.</summary>
    MartianDestination,

    /// <summary>Extension headers malformed or in a forbidden order.</summary>
    BadExtensionHeader,

    /// <summary>Packets with an unknown next header (answered with a parameter problem).</summary>
    NoProtocol,

    /// <summary>Packets delivered to a protocol of this host.</summary>
    Delivered,

    /// <summary>Packets not for us while forwarding is off.</summary>
    NotForwarding,

    /// <summary>Multicast packets for a group this host is not in.</summary>
    NotOurGroup,

    /// <summary>Packets forwarded.</summary>
    Forwarded,

    /// <summary>Packets not forwarded: no route.</summary>
    NoRoute,

    /// <summary>Packets not forwarded: hop limit expired.</summary>
    HopLimitExceeded,

    /// <summary>Packets not forwarded: larger than the link MTU (packet too big sent).</summary>
    TooBig,

    /// <summary>Packets not forwarded: link-local or multicast scope.</summary>
    BeyondScope,

    /// <summary>Packets sent by this host.</summary>
    LocalOut,

    /// <summary>Packets fragmented on output.</summary>
    Fragmented,

    /// <summary>Fragments created.</summary>
    FragmentsCreated,

    /// <summary>Fragments received.</summary>
    Fragments,

    /// <summary>Fragments dropped (bad, overlapping, excessive, or out of reassembly memory).</summary>
    FragmentsDropped,

    /// <summary>Fragments dropped after reassembly timed out.</summary>
    FragmentsTimedOut,

    /// <summary>Packets reassembled.</summary>
    Reassembled,

    /// <summary>Fragments dropped as malformed: a length not a multiple of 8 before the last, past 65535 bytes, or past the datagram's end.</summary>
    FragmentsMalformed,

    /// <summary>Fragments dropped as exact duplicates of one held.</summary>
    FragmentsDuplicate,

    /// <summary>Fragments dropped because their datagram was discarded earlier (overlap, too many) and has not timed out yet.</summary>
    FragmentsAfterDiscard,

    /// <summary>Datagrams discarded because two of their fragments overlapped (RFC 5722).</summary>
    ReassemblyOverlapping,

    /// <summary>Datagrams discarded because they came in more fragments than a datagram may.</summary>
    ReassemblyTooManyFragments,

    /// <summary>Datagrams discarded, oldest first, to make room: too many datagrams or fragments in reassembly.</summary>
    ReassemblyOutOfMemory,

    /// <summary>Output packets dropped: no buffer.</summary>
    NoBuffer,
}

/// <summary>ICMPv6 and neighbour discovery counters.</summary>
internal enum Icmp6Counter
{
    /// <summary>Messages received.</summary>
    Received,

    /// <summary>Messages shorter than their fixed part.</summary>
    TooShort,

    /// <summary>Checksum did not verify.</summary>
    BadChecksum,

    /// <summary>Echo requests answered.</summary>
    EchoReplies,

    /// <summary>Error messages received.</summary>
    ErrorsReceived,

    /// <summary>Other message types received and ignored (router solicitations and advertisements, MLD).</summary>
    OtherReceived,

    /// <summary>Error messages sent.</summary>
    ErrorsSent,

    /// <summary>Errors not sent: the rate limit held them back.</summary>
    RateLimited,

    /// <summary>Errors not sent: about an ICMPv6 error or a multicast packet (RFC 4443 2.4 e).</summary>
    ErrorsSuppressed,

    /// <summary>Neighbour discovery messages with a hop limit other than 255 (RFC 4861 7.1.1).</summary>
    NdBadHopLimit,

    /// <summary>Neighbour discovery messages malformed (code, target, options).</summary>
    NdBadFormat,

    /// <summary>Neighbour solicitations received.</summary>
    NeighborSolicitations,

    /// <summary>Neighbour advertisements received.</summary>
    NeighborAdvertisements,

    /// <summary>Solicitations and advertisements about another host's address.</summary>
    NdForeignTarget,

    /// <summary>Solicitations sent to resolve a next hop.</summary>
    SolicitationsSent,

    /// <summary>Advertisements sent.</summary>
    AdvertisementsSent,

    /// <summary>Duplicate address detection probes sent.</summary>
    DadProbesSent,

    /// <summary>Our addresses found in use by another host.</summary>
    DuplicateAddresses,

    /// <summary>Packets queued while their next hop was resolved.</summary>
    Held,

    /// <summary>Held packets dropped: the queue was full or resolution failed.</summary>
    HeldDropped,

    /// <summary>Neighbours that did not answer in time.</summary>
    ResolutionFailed,
}

/// <summary>UDP counters, named as BSD's <c>struct udpstat</c>.</summary>
internal enum UdpCounter
{
    /// <summary>Datagrams received.</summary>
    Received,

    /// <summary>Datagrams shorter than the header, or with a length field beyond the packet.</summary>
    BadLength,

    /// <summary>Checksum did not verify.</summary>
    BadChecksum,

    /// <summary>IPv6 datagrams with a zero checksum (RFC 8200 8.1 forbids it).</summary>
    ZeroChecksum6,

    /// <summary>Datagrams reassembled into more than one buffer, which sockets do not take yet.</summary>
    TooLarge,

    /// <summary>Datagrams to a port nobody listens on (port unreachable sent).</summary>
    NoPort,

    /// <summary>Broadcast or multicast datagrams to a port nobody listens on.</summary>
    NoPortBroadcast,

    /// <summary>Datagrams delivered to a socket.</summary>
    Delivered,

    /// <summary>Datagrams dropped because the socket's queue was full.</summary>
    SocketFull,

    /// <summary>Datagrams sent.</summary>
    Sent,

    /// <summary>Datagrams not sent: no route, no buffer or too large.</summary>
    SendFailed,

    /// <summary>Datagrams moved by a splice to the drain socket's peer inside the stack, not through an app.</summary>
    Spliced,

    /// <summary>Datagrams an app would not answer: to a broadcast address, or from a port that could start a loop (echo).</summary>
    AppRefused,

    /// <summary>Relay sessions opened (a client's first datagram).</summary>
    RelaySessions,

    /// <summary>Relay sessions closed after their idle timeout.</summary>
    RelaySessionsExpired,

    /// <summary>Datagrams of new relay clients dropped: the session table was full, or the far end had no route.</summary>
    RelaySessionsRefused,
}

/// <summary>
/// The stack's counters of one worker, one array per protocol indexed by that protocol's counter
/// enum. Written only by the worker that owns them, without locks; <c>netstat -s</c> sums them over
/// the workers (see the remarks of DataplaneView on reading them from another thread).
/// </summary>
internal sealed class StackCounters
{
    /// <summary>Ethernet framing.</summary>
    public readonly long[] Ether = new long[Enum.GetValues<EtherCounter>().Length];

    /// <summary>ARP.</summary>
    public readonly long[] Arp = new long[Enum.GetValues<ArpCounter>().Length];

    /// <summary>IPv4.</summary>
    public readonly long[] Ip = new long[Enum.GetValues<IpCounter>().Length];

    /// <summary>ICMP.</summary>
    public readonly long[] Icmp = new long[Enum.GetValues<IcmpCounter>().Length];

    /// <summary>IPv6.</summary>
    public readonly long[] Ip6 = new long[Enum.GetValues<Ip6Counter>().Length];

    /// <summary>ICMPv6 and neighbour discovery.</summary>
    public readonly long[] Icmp6 = new long[Enum.GetValues<Icmp6Counter>().Length];

    /// <summary>UDP.</summary>
    public readonly long[] Udp = new long[Enum.GetValues<UdpCounter>().Length];

    /// <summary>The array of <paramref name="group"/>.</summary>
    public long[] Of(CounterGroup group) => group switch
    {
        CounterGroup.Ether => Ether,
        CounterGroup.Arp => Arp,
        CounterGroup.Ip => Ip,
        CounterGroup.Icmp => Icmp,
        CounterGroup.Ip6 => Ip6,
        CounterGroup.Icmp6 => Icmp6,
        _ => Udp,
    };

    /// <summary>Counts one Ethernet event.</summary>
    public void Count(EtherCounter c) => Ether[(int)c]++;

    /// <summary>Counts one ARP event.</summary>
    public void Count(ArpCounter c) => Arp[(int)c]++;

    /// <summary>Counts one IPv4 event.</summary>
    public void Count(IpCounter c) => Ip[(int)c]++;

    /// <summary>Counts one ICMP event.</summary>
    public void Count(IcmpCounter c) => Icmp[(int)c]++;

    /// <summary>Counts one IPv6 event.</summary>
    public void Count(Ip6Counter c) => Ip6[(int)c]++;

    /// <summary>Counts one ICMPv6 event.</summary>
    public void Count(Icmp6Counter c) => Icmp6[(int)c]++;

    /// <summary>Counts one UDP event.</summary>
    public void Count(UdpCounter c) => Udp[(int)c]++;

    /// <summary>Adds <paramref name="n"/> to one IPv4 counter.</summary>
    public void Add(IpCounter c, long n) => Ip[(int)c] += n;

    /// <summary>Adds <paramref name="n"/> to one IPv6 counter.</summary>
    public void Add(Ip6Counter c, long n) => Ip6[(int)c] += n;

    /// <summary>Adds <paramref name="n"/> to one UDP counter.</summary>
    public void Add(UdpCounter c, long n) => Udp[(int)c] += n;
}
