namespace Dataplane.Stack;

/// <summary>
/// Software LRO counters (<see cref="Offload.SoftLro"/>): what was merged, and why a TCP segment of
/// a port with software LRO was not, one counter per rule of OpenBSD's tcp_softlro_check.
/// </summary>
/// <remarks>
/// Errors: a bad checksum, the one rule broken by bad input (the segment goes on whole, and the
/// layer that takes it counts it too). The other rules are ordinary traffic: a pure ACK, a FIN, a
/// gap in the sequence end a super-frame without anything being wrong.
/// </remarks>
[Counters("lro", order: 67)]
internal enum LroCounter
{
    /// <summary>Segments appended to the super-frame of their flow (the first segment of each is not counted here).</summary>
    [Counter("segments merged into a super-frame")]
    SegmentsMerged,

    /// <summary>Super-frames made of two or more segments.</summary>
    [Counter("super-frames made")]
    SuperFrames,

    /// <summary>Segments whose checksum the driver did not vouch for, summed in software before a merge.</summary>
    [Counter("segment checksums verified in software")]
    ChecksumsInSoftware,

    /// <summary>Segments with a bad IPv4 header or TCP checksum: not merged.</summary>
    [Counter("segments not merged: bad checksum", Error = true)]
    BadChecksum,

    /// <summary>IPv4 packets with options or fragments, IPv6 packets with extension headers, carrying TCP: not merged.</summary>
    [Counter("segments not merged: IP options, extension headers or fragments")]
    IpOptions,

    /// <summary>Segments without payload (pure ACKs, window updates): not merged.</summary>
    [Counter("segments not merged: no payload")]
    NoPayload,

    /// <summary>Segments with a flag besides ACK and PSH (SYN, FIN, RST, URG, ECE, CWR), or without ACK: not merged.</summary>
    [Counter("segments not merged: flags other than ACK and PSH")]
    Flags,

    /// <summary>Segments with TCP options other than timestamps alone (SACK blocks, for one): not merged.</summary>
    [Counter("segments not merged: options other than timestamps")]
    TcpOptions,

    /// <summary>Segments not contiguous with the last one merged of their flow (a gap, a retransmission): a new super-frame starts.</summary>
    [Counter("segments not merged: not contiguous in sequence")]
    Sequence,

    /// <summary>Segments whose TCP header length differs from their flow's: a new super-frame starts.</summary>
    [Counter("segments not merged: header length differs")]
    HeaderLength,

    /// <summary>Segments whose IP header differs from their flow's in TOS or traffic class, TTL or hop limit, DF or flow label: a new super-frame starts.</summary>
    [Counter("segments not merged: IP header fields differ")]
    IpFields,

    /// <summary>Segments whose timestamp value or echo reply went backwards (RFC 7323 5.3): a new super-frame starts.</summary>
    [Counter("segments not merged: timestamps went backwards")]
    Timestamps,

    /// <summary>Segments that would take their flow's super-frame past 64 KiB (the IP length field) or 255 buffers: a new super-frame starts.</summary>
    [Counter("segments not merged: super-frame full")]
    Full,
}
