using System.Runtime.CompilerServices;
using Dataplane.Buffers;
using Dataplane.Ports;

namespace Dataplane.Engine;

/// <summary>
/// What the driver a frame came from promises about its receive offloads, as a type: the packet
/// path generator emits one struct per driver (<c>TapQueuePath.Facts</c>) from its
/// <see cref="PacketPathAttribute"/>, and the worker's processor is compiled for it, so the stack
/// asks <see cref="ReceiveFacts"/> and gets a constant where the driver's answer is fixed.
/// </summary>
/// <remarks>
/// Static abstract members on a struct type argument cost nothing per packet: the JIT and NativeAOT
/// compile a separate copy of a generic method for every struct it is instantiated with (only
/// reference types share one canonical copy), so in the copy for <c>TapQueuePath.Facts</c> the call
/// <c>TFacts.Lro</c> is a direct call to a getter that returns a constant, inlined, and the branch
/// on it folds away. Nothing is looked up through the interface at run time.
/// </remarks>
internal interface IReceiveFacts
{
    /// <summary>How the driver reports checksum state (<see cref="ReceiveFacts.ChecksumFlags"/>).</summary>
    static abstract OffloadReport Checksum { get; }

    /// <summary>How the driver reports the engine's flow hash (<see cref="OffloadFlags.RssHashValid"/>); the emitted receive loop is shaped by it.</summary>
    static abstract OffloadReport RssHash { get; }

    /// <summary>How the driver reports merged segments (<see cref="BufferMetadata.Gso"/>).</summary>
    static abstract OffloadReport Lro { get; }
}

/// <summary>
/// The facts of a frame whose driver is not known where it is processed: one handed over by another
/// worker through a ring (which carries the buffer, not the type of the path it came in on), or one
/// a test or the simulation gives the stack directly. It promises nothing, so every flag is read.
/// </summary>
internal readonly struct UnknownDriverFacts : IReceiveFacts
{
    /// <inheritdoc/>
    public static OffloadReport Checksum => OffloadReport.PerFrame;

    /// <inheritdoc/>
    public static OffloadReport RssHash => OffloadReport.PerFrame;

    /// <inheritdoc/>
    public static OffloadReport Lro => OffloadReport.PerFrame;
}

/// <summary>
/// The questions the stack asks of a received frame's offloads, answered from the driver's facts
/// where they are fixed (without reading the metadata) and from the frame's metadata where they are
/// not. Each is a few instructions once compiled for a facts struct, and inlined into the caller.
/// </summary>
internal static class ReceiveFacts
{
    /// <summary>The flags of <see cref="OffloadFlags"/> that carry checksum state.</summary>
    public const OffloadFlags ChecksumFlags =
        OffloadFlags.Ipv4ChecksumVerified | OffloadFlags.L4ChecksumVerified | OffloadFlags.L4ChecksumPartial;

    /// <summary>What a driver that checks every checksum vouches for: the IPv4 header's and the transport's.</summary>
    public const OffloadFlags AllVerified = OffloadFlags.Ipv4ChecksumVerified | OffloadFlags.L4ChecksumVerified;

    /// <summary>
    /// The checksum state of the frame <paramref name="m"/> describes that the stack may trust:
    /// nothing for a driver that never checks (every checksum is verified in software), both
    /// verified for one that checks every frame, the frame's own flags otherwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static OffloadFlags ChecksumState<TFacts>(in BufferMetadata m) where TFacts : struct, IReceiveFacts
    {
        // A constant for every driver struct (see IReceiveFacts): two of the three arms disappear.
        if (TFacts.Checksum == OffloadReport.Never)
            return OffloadFlags.None; // a stale flag a buffer kept from an earlier use is not trusted
        if (TFacts.Checksum == OffloadReport.EveryFrame)
            return AllVerified; // no frame is partial: a driver that may hand up NEEDS_CSUM declares PerFrame
        return m.Offload & ChecksumFlags;
    }

    /// <summary>
    /// Whether the frame <paramref name="m"/> describes may be a merged super-frame (LRO, GRO, a
    /// peer's TSO) the stack must not take for one packet: never for a driver that never merges,
    /// which then pays no load of <see cref="BufferMetadata.Gso"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool MayBeSuperFrame<TFacts>(in BufferMetadata m) where TFacts : struct, IReceiveFacts
        => TFacts.Lro != OffloadReport.Never && m.Gso != GsoType.None;
}
