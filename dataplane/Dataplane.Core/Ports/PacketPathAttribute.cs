namespace Dataplane.Ports;

/// <summary>
/// How a driver reports one receive offload in the metadata of the frames it hands up: a promise
/// the packet path is compiled on. The default promises nothing.
/// </summary>
internal enum OffloadReport
{
    /// <summary>Frame by frame, or not at all: the path reads each frame's flag and software does the work where it is clear.</summary>
    PerFrame = 0,

    /// <summary>Never: the flag is clear on every frame, so the path does not read it and software always does the work.</summary>
    Never = 1,

    /// <summary>On every frame, without exception: the path does not read the flag and software never does the work.</summary>
    EveryFrame = 2,
}

/// <summary>
/// Declares a driver's queue-pair struct (an <see cref="IQueuePair"/>) to the packet-path generator,
/// with what the driver does for the frames it receives. The generator emits <c>{Struct}Path</c>, the
/// engine's poller of that queue, whose burst loop calls the struct directly and is compiled with
/// these facts as constants. Today the loop is shaped by <see cref="RssHash"/> (a frame the driver
/// hashed is not hashed again, and the flag is not read where the answer is fixed); the stack does
/// not yet specialize on <see cref="Checksum"/> and <see cref="Lro"/>, and reads each frame's flags,
/// so those two are the driver's declared record and the generated path's documentation for now.
/// State only what the driver guarantees for every frame; what varies is <see cref="OffloadReport.PerFrame"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Struct, Inherited = false)]
internal sealed class PacketPathAttribute(string driver) : Attribute
{
    /// <summary>The driver's name, as in the config (<c>port NAME driver tap</c>); one struct per name.</summary>
    public string Driver { get; } = driver;

    /// <summary>
    /// Checksum state: <see cref="Buffers.OffloadFlags.Ipv4ChecksumVerified"/>,
    /// <see cref="Buffers.OffloadFlags.L4ChecksumVerified"/> and <see cref="Buffers.OffloadFlags.L4ChecksumPartial"/>.
    /// </summary>
    public OffloadReport Checksum { get; set; }

    /// <summary>
    /// <see cref="Buffers.OffloadFlags.RssHashValid"/>: the symmetric Toeplitz hash of the flow, the one
    /// the engine places flows on workers by. A hash of another kind (the kernel's) is not this: Never.
    /// </summary>
    public OffloadReport RssHash { get; set; }

    /// <summary>
    /// Merged segments: <see cref="Buffers.BufferMetadata.Gso"/> set on a received frame (LRO, GRO, or
    /// a peer's TSO that never crossed a wire). Never <see cref="OffloadReport.EveryFrame"/>: what
    /// merges depends on the traffic.
    /// </summary>
    public OffloadReport Lro { get; set; }
}
