namespace Dataplane.Ports;

/// <summary>
/// How a driver reports one receive offload in the metadata of the frames it hands up: a promise
/// the packet path and the stack are compiled on (<see cref="Engine.IReceiveFacts"/>). The default
/// promises nothing.
/// </summary>
internal enum OffloadReport
{
    /// <summary>
    /// Frame by frame, or not at all: the flag is read on every frame, and software does the work
    /// where it is clear. The only honest value for a driver that passes on metadata it did not set.
    /// </summary>
    PerFrame = 0,

    /// <summary>
    /// Never: the flag is not read, even when a buffer carries a stale one, and the answer is fixed
    /// as "not done" (software hashes every frame; <see cref="Engine.ReceiveFacts"/> answers no
    /// checksum verified and no super-frame).
    /// </summary>
    Never = 1,

    /// <summary>
    /// On every frame, without exception: the flag is not read and the answer is fixed as "done"
    /// (the driver's hash is taken; <see cref="Engine.ReceiveFacts"/> answers the IPv4 header and
    /// transport checksums verified). Not for <see cref="PacketPathAttribute.Lro"/>.
    /// </summary>
    EveryFrame = 2,
}

/// <summary>
/// Declares a driver's queue-pair struct (an <see cref="IQueuePair"/>) to the packet-path generator,
/// with what the driver does for the frames it receives. The generator emits <c>{Struct}Path</c>, the
/// engine's poller of that queue, whose burst loop calls the struct directly, and a nested
/// <c>Facts</c> struct (<see cref="Engine.IReceiveFacts"/>) of these values as constants. The burst
/// loop is shaped by <see cref="RssHash"/> (a frame the driver hashed is not hashed again, and the
/// flag is not read where the answer is fixed); every packet the path processes goes to the worker's
/// processor compiled for <c>Facts</c> (<see cref="Engine.IPacketProcessor.Process{TFacts}"/>), where
/// <see cref="Engine.ReceiveFacts"/> answers <see cref="Checksum"/> and <see cref="Lro"/> without
/// reading a frame's metadata when they are fixed. A packet handed to another worker loses them: the
/// ring carries the buffer, and its owner reads every flag (<see cref="Engine.UnknownDriverFacts"/>).
/// State only what the driver guarantees for every frame; what varies is <see cref="OffloadReport.PerFrame"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Struct, Inherited = false)]
internal sealed class PacketPathAttribute(string driver) : Attribute
{
    /// <summary>The driver's name, as in the config (<c>port NAME driver tap</c>); one struct per name.</summary>
    public string Driver { get; } = driver;

    /// <summary>
    /// Checksum state: <see cref="Buffers.OffloadFlags.Ipv4ChecksumVerified"/>,
    /// <see cref="Buffers.OffloadFlags.L4ChecksumVerified"/> and <see cref="Buffers.OffloadFlags.L4ChecksumPartial"/>,
    /// as <see cref="Engine.ReceiveFacts.ChecksumState{TFacts}"/> answers them. EveryFrame means both
    /// checksums verified and none partial: a driver that may hand up a partial checksum is PerFrame.
    /// </summary>
    /// <remarks>
    /// The IPv4 and IPv6 inputs ask <see cref="Engine.ReceiveFacts.ChecksumState{TFacts}"/> once per
    /// packet and hand the answer to ICMP and the transports: with Never every checksum is verified
    /// in software and no flag is read, with EveryFrame none is.
    /// </remarks>
    public OffloadReport Checksum { get; set; }

    /// <summary>
    /// <see cref="Buffers.OffloadFlags.RssHashValid"/>: the symmetric Toeplitz hash of the flow, the one
    /// the engine places flows on workers by. A hash of another kind (the kernel's) is not this: Never.
    /// </summary>
    public OffloadReport RssHash { get; set; }

    /// <summary>
    /// Merged segments: <see cref="Buffers.BufferMetadata.Gso"/> set on a received frame (LRO, GRO, or
    /// a peer's TSO that never crossed a wire), as <see cref="Engine.ReceiveFacts.MayBeSuperFrame{TFacts}"/>
    /// answers it: with Never the stack's input does not read the field and takes every frame for one
    /// packet. Never <see cref="OffloadReport.EveryFrame"/> (the generator refuses it, DPP005): what
    /// merges depends on the traffic.
    /// </summary>
    public OffloadReport Lro { get; set; }
}
