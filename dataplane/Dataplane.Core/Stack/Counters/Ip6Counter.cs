namespace Dataplane.Stack;

/// <summary>IPv6 counters, named as BSD's <c>struct ip6stat</c>.</summary>
/// <remarks>Errors: as for IPv4, plus bad extension headers; too big, beyond scope and other groups' multicast are routing outcomes.</remarks>
[Counters("ip6", order: 50)]
internal enum Ip6Counter
{
    /// <summary>Total packets received.</summary>
    [Counter("total packets received")]
    Received,

    /// <summary>Packets shorter than the header.</summary>
    [Counter("packets too short", Error = true)]
    TooShort,

    /// <summary>Version other than 6.</summary>
    [Counter("packets with a bad version", Error = true)]
    BadVersion,

    /// <summary>Payload length beyond the frame.</summary>
    [Counter("packets with a bad payload length", Error = true)]
    BadLength,

    /// <summary>Source address multicast, loopback or otherwise unusable.</summary>
    [Counter("packets from a martian source")]
    MartianSource,

    /// <summary>Destination address loopback or unspecified.</summary>
    [Counter("packets to a martian destination")]
    MartianDestination,

    /// <summary>Extension headers malformed or in a forbidden order.</summary>
    [Counter("packets with bad extension headers or options", Error = true)]
    BadExtensionHeader,

    /// <summary>Packets with an unknown next header (answered with a parameter problem).</summary>
    [Counter("packets with an unknown next header")]
    NoProtocol,

    /// <summary>Packets delivered to a protocol of this host.</summary>
    [Counter("packets for this host")]
    Delivered,

    /// <summary>Packets not for us while forwarding is off.</summary>
    [Counter("packets not for us while not forwarding")]
    NotForwarding,

    /// <summary>Multicast packets for a group this host is not in.</summary>
    [Counter("multicast packets for groups we are not in")]
    NotOurGroup,

    /// <summary>Packets forwarded.</summary>
    [Counter("packets forwarded")]
    Forwarded,

    /// <summary>Packets not forwarded: no route.</summary>
    [Counter("packets not forwarded: no route")]
    NoRoute,

    /// <summary>Packets not forwarded: hop limit expired.</summary>
    [Counter("packets not forwarded: hop limit exceeded")]
    HopLimitExceeded,

    /// <summary>Packets not forwarded: larger than the link MTU (packet too big sent).</summary>
    [Counter("packets not forwarded: too big")]
    TooBig,

    /// <summary>Packets not forwarded: link-local or multicast scope.</summary>
    [Counter("packets not forwarded: beyond scope")]
    BeyondScope,

    /// <summary>Packets sent by this host.</summary>
    [Counter("packets sent from this host")]
    LocalOut,

    /// <summary>Packets fragmented on output.</summary>
    [Counter("output datagrams fragmented")]
    Fragmented,

    /// <summary>Fragments created.</summary>
    [Counter("fragments created")]
    FragmentsCreated,

    /// <summary>Fragments received.</summary>
    [Counter("fragments received")]
    Fragments,

    /// <summary>Fragments dropped (bad, overlapping, excessive, or out of reassembly memory).</summary>
    [Counter("fragments dropped (bad, overlapping, excessive or out of memory)", Error = true)]
    FragmentsDropped,

    /// <summary>Fragments dropped after reassembly timed out.</summary>
    [Counter("fragments dropped after timeout", Error = true)]
    FragmentsTimedOut,

    /// <summary>Packets reassembled.</summary>
    [Counter("packets reassembled")]
    Reassembled,

    /// <summary>Fragments dropped as malformed: a length not a multiple of 8 before the last, past 65535 bytes, or past the datagram's end.</summary>
    [Counter("malformed fragments dropped (bad length, past 65535 bytes or past the end)", Error = true)]
    FragmentsMalformed,

    /// <summary>Fragments dropped as exact duplicates of one held.</summary>
    [Counter("duplicate fragments dropped", Error = true)]
    FragmentsDuplicate,

    /// <summary>Fragments dropped because their datagram was discarded earlier (overlap, too many) and has not timed out yet.</summary>
    [Counter("fragments dropped: their datagram was discarded", Error = true)]
    FragmentsAfterDiscard,

    /// <summary>Datagrams discarded because two of their fragments overlapped (RFC 5722).</summary>
    [Counter("datagrams discarded: overlapping fragments", Error = true)]
    ReassemblyOverlapping,

    /// <summary>Datagrams discarded because they came in more fragments than a datagram may.</summary>
    [Counter("datagrams discarded: too many fragments", Error = true)]
    ReassemblyTooManyFragments,

    /// <summary>Datagrams discarded, oldest first, to make room: too many datagrams or fragments in reassembly.</summary>
    [Counter("datagrams discarded: reassembly memory full", Error = true)]
    ReassemblyOutOfMemory,

    /// <summary>Output packets dropped: no buffer.</summary>
    [Counter("output packets dropped: no buffer", Error = true)]
    NoBuffer,
}
