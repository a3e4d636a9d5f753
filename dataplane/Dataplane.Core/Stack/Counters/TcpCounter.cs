namespace Dataplane.Stack;

/// <summary>TCP counters, named as BSD's <c>struct tcpstat</c>.</summary>
/// <remarks>Errors: malformed segments; segments to a closed port and the resets that answer them are the protocol working.</remarks>
[Counters("tcp", order: 65)]
internal enum TcpCounter
{
    /// <summary>Segments received.</summary>
    [Counter("segments received")]
    Received,

    /// <summary>Segments shorter than the fixed header, or whose data offset is below it or beyond the segment (tcps_rcvbadoff, tcps_rcvshort).</summary>
    [Counter("segments with a bad header length", Error = true)]
    BadHeaderLength,

    /// <summary>Checksum did not verify (tcps_rcvbadsum).</summary>
    [Counter("bad checksums", Error = true)]
    BadChecksum,

    /// <summary>Segments that found no connection or listener (tcps_noport).</summary>
    [Counter("segments to a port nobody listens on")]
    NoPort,

    /// <summary>Segments to a broadcast or multicast address, or in a link-layer broadcast, which TCP never answers (RFC 1122 4.2.3.10, 3.3.6).</summary>
    [Counter("segments to a broadcast or multicast address")]
    Broadcast,

    /// <summary>Segments from the unspecified address, to which nothing is sent (RFC 4291 2.5.2).</summary>
    [Counter("segments from the unspecified address")]
    UnspecifiedSource,

    /// <summary>Resets received that found no connection: dropped, never answered (RFC 9293 3.10.7.1).</summary>
    [Counter("resets to a port nobody listens on")]
    ResetNoPort,

    /// <summary>Resets sent.</summary>
    [Counter("resets sent")]
    ResetsSent,

    /// <summary>Resets not sent, held back by the worker's rate limit (OpenBSD's tcps_rstppslimit, net.inet.tcp.rstppslimit).</summary>
    [Counter("resets not sent: rate limit")]
    ResetsRateLimited,

    /// <summary>Segments the stack could not send for want of a buffer.</summary>
    [Counter("segments not sent: no buffer", Error = true)]
    NoBuffer,
}
