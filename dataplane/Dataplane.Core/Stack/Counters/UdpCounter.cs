namespace Dataplane.Stack;

/// <summary>UDP counters, named as BSD's <c>struct udpstat</c>.</summary>
/// <remarks>Errors: malformed datagrams and datagrams lost for want of room; no port, zero IPv6 checksums and refusing apps are the protocol working.</remarks>
[Counters("udp", order: 70)]
internal enum UdpCounter
{
    /// <summary>Datagrams received.</summary>
    [Counter("datagrams received")]
    Received,

    /// <summary>Datagrams shorter than the header, or with a length field beyond the packet.</summary>
    [Counter("datagrams with a bad length", Error = true)]
    BadLength,

    /// <summary>Checksum did not verify.</summary>
    [Counter("bad checksums", Error = true)]
    BadChecksum,

    /// <summary>IPv6 datagrams with a zero checksum (RFC 8200 8.1 forbids it).</summary>
    [Counter("IPv6 datagrams with a zero checksum")]
    ZeroChecksum6,

    /// <summary>Datagrams to a port nobody listens on (port unreachable sent).</summary>
    [Counter("datagrams to a port nobody listens on")]
    NoPort,

    /// <summary>Broadcast or multicast datagrams to a port nobody listens on.</summary>
    [Counter("broadcast or multicast datagrams to a port nobody listens on")]
    NoPortBroadcast,

    /// <summary>Datagrams delivered to a socket.</summary>
    [Counter("datagrams delivered")]
    Delivered,

    /// <summary>Datagrams dropped because the socket's queue was full.</summary>
    [Counter("datagrams dropped: socket queue full", Error = true)]
    SocketFull,

    /// <summary>Datagrams sent.</summary>
    [Counter("datagrams sent")]
    Sent,

    /// <summary>Datagrams not sent: no route, no buffer or too large.</summary>
    [Counter("datagrams not sent: no route, no buffer or too large", Error = true)]
    SendFailed,

    /// <summary>Datagrams moved by a splice to the drain socket's peer inside the stack, not through an app.</summary>
    [Counter("datagrams moved by splice inside the stack")]
    Spliced,

    /// <summary>Datagrams an app would not answer: to a broadcast address, or from a port that could start a loop (echo).</summary>
    [Counter("datagrams an app would not answer (broadcast, or from a port that could loop)")]
    AppRefused,

    /// <summary>Relay sessions opened (a client's first datagram).</summary>
    [Counter("relay sessions opened")]
    RelaySessions,

    /// <summary>Relay sessions closed after their idle timeout.</summary>
    [Counter("relay sessions closed after their idle timeout")]
    RelaySessionsExpired,

    /// <summary>Datagrams of new relay clients dropped: the session table was full, or the far end had no route.</summary>
    [Counter("datagrams of new relay clients dropped (session table full, or no route to the far end)", Error = true)]
    RelaySessionsRefused,

    /// <summary>Splices started (<c>UdpSocket.Splice</c>).</summary>
    [Counter("splices started")]
    SplicesStarted,

    /// <summary>Splices refused: a closed source, an unconnected drain or one of another worker, a socket spliced already, a negative limit.</summary>
    [Counter("splices refused")]
    SplicesRefused,

    /// <summary>Payload bytes moved by splices.</summary>
    [Counter("bytes moved by splice inside the stack")]
    SplicedBytes,

    /// <summary>Splices dissolved: the next datagram would pass the maximum (it went to the app).</summary>
    [Counter("splices dissolved: maximum reached")]
    SpliceMaximum,

    /// <summary>Splices dissolved: no datagram for the idle timeout.</summary>
    [Counter("splices dissolved: idle timeout")]
    SpliceIdleTimeout,

    /// <summary>Splices dissolved: a datagram larger than the drain can send (EMSGSIZE), dropped, not truncated.</summary>
    [Counter("splices dissolved: datagram too long for the drain", Error = true)]
    SpliceMessageTooLong,

    /// <summary>Splices dissolved: the drain could not send (no route, no source address) or was closed.</summary>
    [Counter("splices dissolved: drain gone")]
    SpliceDrainGone,

    /// <summary>Splices dissolved by their app, or with their source closed.</summary>
    [Counter("splices dissolved by the app")]
    SpliceUnspliced,
}
