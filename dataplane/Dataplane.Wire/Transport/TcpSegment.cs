namespace Dataplane.Wire;

/// <summary>TCP control bits (RFC 9293 3.1, RFC 3168 for CWR and ECE, RFC 3540's NS bit).</summary>
[Flags]
public enum TcpFlags : ushort
{
    /// <summary>No flag set.</summary>
    None = 0,

    /// <summary>No more data from sender.</summary>
    Fin = 0x001,

    /// <summary>Synchronize sequence numbers.</summary>
    Syn = 0x002,

    /// <summary>Reset the connection.</summary>
    Rst = 0x004,

    /// <summary>Push function.</summary>
    Psh = 0x008,

    /// <summary>Acknowledgment field is significant.</summary>
    Ack = 0x010,

    /// <summary>Urgent pointer field is significant.</summary>
    Urg = 0x020,

    /// <summary>ECN echo.</summary>
    Ece = 0x040,

    /// <summary>Congestion window reduced.</summary>
    Cwr = 0x080,

    /// <summary>ECN nonce (historic, RFC 8311), now the AccECN AE bit.</summary>
    Ns = 0x100,
}

/// <summary>TCP option kinds (RFC 9293 3.2, RFC 7323, RFC 2018).</summary>
public enum TcpOptionKind : byte
{
    /// <summary>End of option list.</summary>
    EndOfOptions = 0,

    /// <summary>No-operation.</summary>
    NoOperation = 1,

    /// <summary>Maximum segment size.</summary>
    MaximumSegmentSize = 2,

    /// <summary>Window scale.</summary>
    WindowScale = 3,

    /// <summary>SACK permitted.</summary>
    SackPermitted = 4,

    /// <summary>Selective acknowledgment blocks.</summary>
    Sack = 5,

    /// <summary>Timestamps.</summary>
    Timestamps = 8,
}

/// <summary>A TCP header with its options (RFC 9293 3.1).</summary>
[WireHeader(20)]
[HeaderLength(nameof(DataOffset), Unit = 4)]
[Options(OptionFormat.KindLength)]
public readonly ref partial struct TcpSegment
{
    /// <summary>Source port.</summary>
    [Field(0)] public partial ushort SourcePort { get; set; }

    /// <summary>Destination port.</summary>
    [Field(2)] public partial ushort DestinationPort { get; set; }

    /// <summary>Sequence number of the first data octet (or the ISN with SYN).</summary>
    [Field(4)] public partial uint SequenceNumber { get; set; }

    /// <summary>Next sequence number the sender expects, when ACK is set.</summary>
    [Field(8)] public partial uint AcknowledgmentNumber { get; set; }

    /// <summary>Header length in 32-bit words, 5 to 15.</summary>
    [Bits(96, 4)] public partial byte DataOffset { get; set; }

    /// <summary>Reserved bits, sent as zero.</summary>
    [Bits(100, 3)] public partial byte Reserved { get; set; }

    /// <summary>Control bits.</summary>
    [Bits(103, 9)] public partial TcpFlags Flags { get; set; }

    /// <summary>Receive window (scaled by the window-scale option).</summary>
    [Field(14)] public partial ushort Window { get; set; }

    /// <summary>Checksum with the pseudo-header.</summary>
    [Field(16), Checksum(ChecksumScope.Packet, PseudoHeaderProtocol = 6)] public partial ushort Checksum { get; set; }

    /// <summary>Urgent pointer, when URG is set.</summary>
    [Field(18)] public partial ushort UrgentPointer { get; set; }
}

/// <summary>The maximum segment size option (RFC 9293 3.2).</summary>
[WireHeader(4)]
public readonly ref partial struct TcpMssOption
{
    /// <summary>Kind, 2.</summary>
    [Field(0), Expect(2)] public partial TcpOptionKind Kind { get; set; }

    /// <summary>Length, 4.</summary>
    [Field(1), Expect(4)] public partial byte Length { get; set; }

    /// <summary>Largest segment the sender will receive.</summary>
    [Field(2)] public partial ushort MaximumSegmentSize { get; set; }
}

/// <summary>The window scale option (RFC 7323 2).</summary>
[WireHeader(3)]
public readonly ref partial struct TcpWindowScaleOption
{
    /// <summary>Kind, 3.</summary>
    [Field(0), Expect(3)] public partial TcpOptionKind Kind { get; set; }

    /// <summary>Length, 3.</summary>
    [Field(1), Expect(3)] public partial byte Length { get; set; }

    /// <summary>Shift count, at most 14.</summary>
    [Field(2)] public partial byte ShiftCount { get; set; }
}

/// <summary>The SACK-permitted option (RFC 2018 2).</summary>
[WireHeader(2)]
public readonly ref partial struct TcpSackPermittedOption
{
    /// <summary>Kind, 4.</summary>
    [Field(0), Expect(4)] public partial TcpOptionKind Kind { get; set; }

    /// <summary>Length, 2.</summary>
    [Field(1), Expect(2)] public partial byte Length { get; set; }
}

/// <summary>The SACK option (RFC 2018 3): blocks of left and right edges in <c>Variable</c>.</summary>
[WireHeader(2)]
[HeaderLength(nameof(Length))]
public readonly ref partial struct TcpSackOption
{
    /// <summary>Kind, 5.</summary>
    [Field(0), Expect(5)] public partial TcpOptionKind Kind { get; set; }

    /// <summary>Length: 2 plus 8 per block.</summary>
    [Field(1)] public partial byte Length { get; set; }
}

/// <summary>The timestamps option (RFC 7323 3).</summary>
[WireHeader(10)]
public readonly ref partial struct TcpTimestampsOption
{
    /// <summary>Kind, 8.</summary>
    [Field(0), Expect(8)] public partial TcpOptionKind Kind { get; set; }

    /// <summary>Length, 10.</summary>
    [Field(1), Expect(10)] public partial byte Length { get; set; }

    /// <summary>The sender's timestamp clock.</summary>
    [Field(2)] public partial uint Value { get; set; }

    /// <summary>The most recent timestamp received, when ACK is set.</summary>
    [Field(6)] public partial uint EchoReply { get; set; }
}
