namespace Dataplane.Stack;

/// <summary>Ethernet framing counters.</summary>
/// <remarks>Errors: runt frames and frames the input path cannot take; other EtherTypes, other stations' frames and our own echoes are not errors.</remarks>
[Counters("ether", order: 10)]
internal enum EtherCounter
{
    /// <summary>Frames shorter than an Ethernet header.</summary>
    [Counter("frames shorter than an Ethernet header", Error = true)]
    TooShort,

    /// <summary>Frames of an EtherType the stack does not speak.</summary>
    [Counter("frames of an unknown EtherType")]
    UnknownType,

    /// <summary>Unicast frames addressed to another station (seen in promiscuous mode).</summary>
    [Counter("unicast frames for another station")]
    NotForUs,

    /// <summary>Frames from our own MAC address (a loop).</summary>
    [Counter("frames from our own address")]
    FromSelf,

    /// <summary>Frames in a chain of buffers whose headers could not be made contiguous in the first buffer (no room to pull them up).</summary>
    [Counter("chained frames whose headers could not be pulled up", Error = true)]
    Chained,

}
