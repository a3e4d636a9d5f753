namespace Dataplane.Stack;

/// <summary>
/// Segmentation offload counters: received super-frames (a peer's TSO through a tap or veth, the
/// kernel's GRO under an afpacket port), what was found wrong with them, and what became of them:
/// sent whole to a port that segments, or cut into segments in software.
/// </summary>
/// <remarks>Errors: a super-frame whose virtio-net header lies about it, and pieces not built for want of a buffer.</remarks>
[Counters("offload", order: 15)]
internal enum OffloadCounter
{
    /// <summary>Super-frames received (a segmentation type in the metadata).</summary>
    [Counter("super-frames received")]
    Received,

    /// <summary>Super-frames whose segment size is 0 or larger than their payload.</summary>
    [Counter("super-frames with a segment size of 0 or beyond the payload", Error = true)]
    BadSegmentSize,

    /// <summary>Super-frames whose segmentation type does not match their headers (TCPv4 but not IPv4/TCP, TCPv6 but not IPv6/TCP, UDP but not UDP).</summary>
    [Counter("super-frames whose segmentation type does not match their headers", Error = true)]
    TypeMismatch,

    /// <summary>Super-frames whose IP or transport header is malformed, cut short, or a fragment's.</summary>
    [Counter("super-frames with malformed headers", Error = true)]
    BadHeaders,

    /// <summary>Super-frames whose chain of buffers ends before their length (a driver's fault).</summary>
    [Counter("super-frames whose chain of buffers ends early", Error = true)]
    ShortChain,

    /// <summary>Super-frames whose partial checksum start or offset lies beyond the frame or not at the transport checksum.</summary>
    [Counter("super-frames with a checksum start or offset beyond the frame or off the transport checksum", Error = true)]
    BadChecksumOffset,

    /// <summary>Super-frames that came with no checksum state and whose transport checksum over the whole did not verify.</summary>
    [Counter("super-frames with a bad transport checksum", Error = true)]
    BadChecksum,

    /// <summary>IPv4 super-frames with options: not cut in software (RFC 791 options are rare and never merged by GRO).</summary>
    [Counter("IPv4 super-frames with options dropped", Error = true)]
    Ipv4Options,

    /// <summary>IPv6 super-frames with extension headers: not cut in software.</summary>
    [Counter("IPv6 super-frames with extension headers dropped", Error = true)]
    Ipv6ExtensionHeaders,

    /// <summary>Super-frames cut into segments in software (for this host, for a port that cannot segment, or because a segment passed the MTU).</summary>
    [Counter("super-frames cut in software")]
    Segmented,

    /// <summary>Segments built from super-frames.</summary>
    [Counter("segments cut from super-frames")]
    SegmentsCreated,

    /// <summary>Segments not built because the pool ran dry mid-way; the rest of the super-frame was dropped.</summary>
    [Counter("segments not built for want of a buffer", Error = true)]
    NoBuffer,

    /// <summary>Super-frames forwarded whole to a port that segments them (TSO).</summary>
    [Counter("super-frames sent whole to a port that segments")]
    SentWhole,

    /// <summary>Super-frames for this host, cut at the door and each piece taken by the normal input.</summary>
    [Counter("super-frames for this host cut at input")]
    ForUs,

    /// <summary>TCP super-frames for this host taken whole by TCP (as a GRO skb is), not cut.</summary>
    [Counter("TCP super-frames for this host taken whole")]
    TakenWhole,

    /// <summary>Super-frames from a port whose LRO is switched off, cut at the door.</summary>
    [Counter("super-frames from a port with lro off cut at input")]
    LroOff,
}
