namespace Dataplane.Stack;

/// <summary>ICMPv6 and neighbour discovery counters.</summary>
/// <remarks>Errors: malformed messages and neighbour discovery (RFC 4861 7.1), duplicate addresses, and neighbours that never answered; foreign targets are other hosts' business.</remarks>
[Counters("icmp6", order: 60)]
internal enum Icmp6Counter
{
    /// <summary>Messages received.</summary>
    [Counter("messages received")]
    Received,

    /// <summary>Messages shorter than their fixed part.</summary>
    [Counter("messages too short", Error = true)]
    TooShort,

    /// <summary>Checksum did not verify.</summary>
    [Counter("bad checksums", Error = true)]
    BadChecksum,

    /// <summary>Echo requests answered.</summary>
    [Counter("echo replies sent")]
    EchoReplies,

    /// <summary>Error messages received.</summary>
    [Counter("error messages received")]
    ErrorsReceived,

    /// <summary>Other message types received and ignored (router solicitations and advertisements, MLD).</summary>
    [Counter("other messages received")]
    OtherReceived,

    /// <summary>Error messages sent.</summary>
    [Counter("error messages sent")]
    ErrorsSent,

    /// <summary>Errors not sent: the rate limit held them back.</summary>
    [Counter("errors not sent: rate limit")]
    RateLimited,

    /// <summary>Errors not sent: about an ICMPv6 error or a multicast packet (RFC 4443 2.4 e).</summary>
    [Counter("errors not sent: about an error or a multicast packet")]
    ErrorsSuppressed,

    /// <summary>Neighbour discovery messages with a hop limit other than 255 (RFC 4861 7.1.1).</summary>
    [Counter("neighbour discovery messages with a bad hop limit", Error = true)]
    NdBadHopLimit,

    /// <summary>Neighbour discovery messages malformed (code, target, options).</summary>
    [Counter("neighbour discovery messages with a bad format", Error = true)]
    NdBadFormat,

    /// <summary>Neighbour solicitations received.</summary>
    [Counter("neighbour solicitations received")]
    NeighborSolicitations,

    /// <summary>Neighbour advertisements received.</summary>
    [Counter("neighbour advertisements received")]
    NeighborAdvertisements,

    /// <summary>Solicitations and advertisements about another host's address.</summary>
    [Counter("neighbour discovery messages about a foreign target")]
    NdForeignTarget,

    /// <summary>Solicitations sent to resolve a next hop.</summary>
    [Counter("neighbour solicitations sent")]
    SolicitationsSent,

    /// <summary>Advertisements sent.</summary>
    [Counter("neighbour advertisements sent")]
    AdvertisementsSent,

    /// <summary>Duplicate address detection probes sent.</summary>
    [Counter("duplicate address detection probes sent")]
    DadProbesSent,

    /// <summary>Our addresses found in use by another host.</summary>
    [Counter("duplicate addresses detected", Error = true)]
    DuplicateAddresses,

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
