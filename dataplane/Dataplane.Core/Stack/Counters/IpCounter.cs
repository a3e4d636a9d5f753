namespace Dataplane.Stack;

/// <summary>IPv4 counters, named as BSD's <c>struct ipstat</c>.</summary>
/// <remarks>Errors: malformed headers and fragments, reassembly giving up, and no buffer; martians, source routes, no route and TTL are policy or routing outcomes.</remarks>
[Counters("ip", order: 30)]
internal enum IpCounter
{
    /// <summary>Total packets received.</summary>
    [Counter("total packets received")]
    Received,

    /// <summary>Packets shorter than the minimum header.</summary>
    [Counter("packets too short", Error = true)]
    TooShort,

    /// <summary>Version other than 4.</summary>
    [Counter("packets with a bad version", Error = true)]
    BadVersion,

    /// <summary>Header length below 20 or beyond the packet.</summary>
    [Counter("packets with a bad header length", Error = true)]
    BadHeaderLength,

    /// <summary>Total length below the header length or beyond the frame.</summary>
    [Counter("packets with a bad total length", Error = true)]
    BadLength,

    /// <summary>Header checksum did not verify.</summary>
    [Counter("bad header checksums", Error = true)]
    BadChecksum,

    /// <summary>Source address not a usable unicast address (RFC 1812 5.3.7).</summary>
    [Counter("packets from a martian source")]
    MartianSource,

    /// <summary>Destination address that must never appear on a wire (loopback, 0.0.0.0).</summary>
    [Counter("packets to a martian destination")]
    MartianDestination,

    /// <summary>Packets to us with time to live 0.</summary>
    [Counter("packets for us with a zero TTL")]
    ZeroTtl,

    /// <summary>Source-routed packets (RFC 7126 recommends dropping them).</summary>
    [Counter("source-routed packets dropped")]
    SourceRouted,

    /// <summary>Packets delivered to a protocol of this host.</summary>
    [Counter("packets for this host")]
    Delivered,

    /// <summary>Packets for an unknown or unsupported protocol.</summary>
    [Counter("packets for an unknown or unsupported protocol")]
    NoProtocol,

    /// <summary>Packets not for us while forwarding is off.</summary>
    [Counter("packets not for us while not forwarding")]
    NotForwarding,

    /// <summary>Packets forwarded.</summary>
    [Counter("packets forwarded")]
    Forwarded,

    /// <summary>Packets not forwarded: no route to the destination.</summary>
    [Counter("packets not forwarded: no route")]
    NoRoute,

    /// <summary>Packets not forwarded: time to live expired.</summary>
    [Counter("packets not forwarded: TTL exceeded")]
    TtlExceeded,

    /// <summary>Packets not forwarded: larger than the MTU with don't-fragment set.</summary>
    [Counter("packets not forwarded: need fragmentation with don't fragment set")]
    CantFragment,

    /// <summary>Packets not forwarded: broadcast or multicast destination.</summary>
    [Counter("packets not forwarded: broadcast or multicast")]
    NotForwardable,

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
