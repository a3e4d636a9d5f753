namespace Dataplane.Stack;

/// <summary>ARP counters.</summary>
/// <remarks>Errors: malformed packets, another host claiming our address, and neighbours that never answered; martian senders are a policy drop.</remarks>
[Counters("arp", order: 20)]
internal enum ArpCounter
{
    /// <summary>ARP packets received.</summary>
    [Counter("packets received")]
    Received,

    /// <summary>Hardware, protocol, lengths or operation other than Ethernet/IPv4 request or reply.</summary>
    [Counter("packets with a bad format", Error = true)]
    BadFormat,

    /// <summary>Requests for one of our addresses, answered.</summary>
    [Counter("requests for our addresses")]
    RequestsForUs,

    /// <summary>Requests and replies about another host's address.</summary>
    [Counter("packets about a foreign target address")]
    ForeignTarget,

    /// <summary>Replies received.</summary>
    [Counter("replies received")]
    RepliesReceived,

    /// <summary>Packets whose sender address is not a usable unicast address (martian).</summary>
    [Counter("packets from a martian sender")]
    BadSender,

    /// <summary>Packets that claim one of our addresses from another MAC address.</summary>
    [Counter("packets claiming one of our addresses", Error = true)]
    AddressConflict,

    /// <summary>Requests sent to resolve a next hop.</summary>
    [Counter("requests sent")]
    RequestsSent,

    /// <summary>Replies sent.</summary>
    [Counter("replies sent")]
    RepliesSent,

    /// <summary>Gratuitous announcements of our addresses sent.</summary>
    [Counter("announcements sent")]
    AnnouncementsSent,

    /// <summary>Packets queued while their next hop was resolved.</summary>
    [Counter("packets held for resolution")]
    Held,

    /// <summary>Held packets dropped: the queue was full or resolution failed.</summary>
    [Counter("held packets dropped", Error = true)]
    HeldDropped,

    /// <summary>Neighbours that did not answer in time.</summary>
    [Counter("neighbours that did not answer", Error = true)]
    ResolutionFailed,
}
