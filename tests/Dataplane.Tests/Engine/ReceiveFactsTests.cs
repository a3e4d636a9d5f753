using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Ports;

namespace Dataplane.Tests.Engine;

/// <summary>
/// What the stack is told of a frame's offloads under each receive fact: a fixed fact is answered
/// without a look at the metadata (a stale or lying flag changes nothing), a per-frame one from it.
/// </summary>
/// <remarks>The flags travel as their numbers: a public test method cannot take the engine's internal enums.</remarks>
public class ReceiveFactsTests
{
    /// <summary>A driver that never reports an offload.</summary>
    private readonly struct NeverFacts : IReceiveFacts
    {
        public static OffloadReport Checksum => OffloadReport.Never;

        public static OffloadReport RssHash => OffloadReport.Never;

        public static OffloadReport Lro => OffloadReport.Never;
    }

    /// <summary>
    /// A driver that reports every offload on every frame. The generator refuses Lro = EveryFrame in
    /// a declaration (DPP005); written by hand it still has a defined answer.
    /// </summary>
    private readonly struct EveryFrameFacts : IReceiveFacts
    {
        public static OffloadReport Checksum => OffloadReport.EveryFrame;

        public static OffloadReport RssHash => OffloadReport.EveryFrame;

        public static OffloadReport Lro => OffloadReport.EveryFrame;
    }

    private const OffloadFlags Everything = OffloadFlags.Ipv4ChecksumVerified | OffloadFlags.L4ChecksumVerified
        | OffloadFlags.L4ChecksumPartial | OffloadFlags.RssHashValid;

    [Theory]
    [InlineData((ushort)OffloadFlags.None)]
    [InlineData((ushort)Everything)]
    public void Checksum_never_reported_trusts_no_flag_the_frame_carries(ushort offload)
    {
        var m = new BufferMetadata { Offload = (OffloadFlags)offload };
        Assert.Equal(OffloadFlags.None, ReceiveFacts.ChecksumState<NeverFacts>(m));
    }

    [Theory]
    [InlineData((ushort)OffloadFlags.None)]
    [InlineData((ushort)OffloadFlags.L4ChecksumPartial)]
    [InlineData((ushort)Everything)]
    public void Checksum_reported_on_every_frame_is_verified_for_the_ipv4_header_and_transport_whatever_the_flags(ushort offload)
    {
        var m = new BufferMetadata { Offload = (OffloadFlags)offload };
        Assert.Equal(OffloadFlags.Ipv4ChecksumVerified | OffloadFlags.L4ChecksumVerified, ReceiveFacts.ChecksumState<EveryFrameFacts>(m));
    }

    [Theory]
    [InlineData((ushort)OffloadFlags.None, (ushort)OffloadFlags.None)]
    [InlineData((ushort)OffloadFlags.L4ChecksumVerified, (ushort)OffloadFlags.L4ChecksumVerified)]
    [InlineData((ushort)(OffloadFlags.L4ChecksumPartial | OffloadFlags.RssHashValid), (ushort)OffloadFlags.L4ChecksumPartial)]
    [InlineData((ushort)Everything, (ushort)(OffloadFlags.Ipv4ChecksumVerified | OffloadFlags.L4ChecksumVerified | OffloadFlags.L4ChecksumPartial))]
    public void Checksum_reported_per_frame_is_the_frames_checksum_flags_alone(ushort offload, ushort expected)
    {
        var m = new BufferMetadata { Offload = (OffloadFlags)offload };
        Assert.Equal((OffloadFlags)expected, ReceiveFacts.ChecksumState<UnknownDriverFacts>(m));
    }

    [Theory]
    [InlineData((byte)GsoType.None)]
    [InlineData((byte)GsoType.TcpV4)]
    [InlineData((byte)GsoType.Udp)]
    public void Lro_never_reported_means_no_super_frame_even_with_gso_set(byte gso)
    {
        var m = new BufferMetadata { Gso = (GsoType)gso };
        Assert.False(ReceiveFacts.MayBeSuperFrame<NeverFacts>(m));
    }

    [Theory]
    [InlineData((byte)GsoType.None, false)]
    [InlineData((byte)GsoType.TcpV4, true)]
    [InlineData((byte)GsoType.TcpV6, true)]
    [InlineData((byte)GsoType.Udp, true)]
    public void Lro_reported_per_frame_is_the_frames_gso_type(byte gso, bool expected)
    {
        var m = new BufferMetadata { Gso = (GsoType)gso };
        Assert.Equal(expected, ReceiveFacts.MayBeSuperFrame<UnknownDriverFacts>(m));
    }

    [Theory]
    [InlineData((byte)GsoType.None, false)]
    [InlineData((byte)GsoType.TcpV4, true)]
    public void Lro_on_every_frame_still_reads_the_gso_type_since_what_merges_depends_on_the_traffic(byte gso, bool expected)
    {
        var m = new BufferMetadata { Gso = (GsoType)gso };
        Assert.Equal(expected, ReceiveFacts.MayBeSuperFrame<EveryFrameFacts>(m));
    }

    [Fact]
    public void A_frame_of_unknown_origin_is_read_per_frame_for_every_fact()
    {
        Assert.Equal(OffloadReport.PerFrame, UnknownDriverFacts.Checksum);
        Assert.Equal(OffloadReport.PerFrame, UnknownDriverFacts.RssHash);
        Assert.Equal(OffloadReport.PerFrame, UnknownDriverFacts.Lro);
    }
}
