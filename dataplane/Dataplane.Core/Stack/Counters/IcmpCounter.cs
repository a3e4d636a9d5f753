namespace Dataplane.Stack;

/// <summary>ICMP counters.</summary>
/// <remarks>Errors: only malformed messages; ICMP errors sent or received, rate limiting and ignored broadcast echoes are the protocol working.</remarks>
[Counters("icmp", order: 40)]
internal enum IcmpCounter
{
    /// <summary>Messages received.</summary>
    [Counter("messages received")]
    Received,

    /// <summary>Messages shorter than the ICMP header.</summary>
    [Counter("messages too short", Error = true)]
    TooShort,

    /// <summary>Checksum did not verify.</summary>
    [Counter("bad checksums", Error = true)]
    BadChecksum,

    /// <summary>Echo requests answered.</summary>
    [Counter("echo replies sent")]
    EchoReplies,

    /// <summary>Echo requests to a broadcast or multicast address, ignored (RFC 1122 3.2.2.6 allows it).</summary>
    [Counter("broadcast or multicast echo requests ignored")]
    BroadcastEchoIgnored,

    /// <summary>Error messages received (unreachable, time exceeded, parameter problem).</summary>
    [Counter("error messages received")]
    ErrorsReceived,

    /// <summary>Other message types received and ignored.</summary>
    [Counter("other messages received")]
    OtherReceived,

    /// <summary>Error messages sent.</summary>
    [Counter("error messages sent")]
    ErrorsSent,

    /// <summary>Errors not sent: the rate limit held them back.</summary>
    [Counter("errors not sent: rate limit")]
    RateLimited,

    /// <summary>Errors not sent: about an ICMP error, a fragment, or a non-unicast packet (RFC 1122 3.2.2).</summary>
    [Counter("errors not sent: about an error, a fragment or a non-unicast packet")]
    ErrorsSuppressed,
}
