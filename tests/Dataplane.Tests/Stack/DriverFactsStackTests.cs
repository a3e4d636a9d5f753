using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Ports;
using Dataplane.Stack;
using Dataplane.Stack.Apps;
using Dataplane.Stack.Transport;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack;

/// <summary>
/// The stack compiled for what a driver promises (its packet path's facts): a driver that never
/// checks checksums gets every one verified in software whatever a stale flag says, one that checks
/// every frame gets none verified again, and one that never merges frames is not asked about it.
/// The same frames with the same metadata behave differently by the facts type alone.
/// </summary>
public class DriverFactsStackTests
{
    private readonly struct NeverChecks : IReceiveFacts
    {
        public static OffloadReport Checksum => OffloadReport.Never;
        public static OffloadReport RssHash => OffloadReport.Never;
        public static OffloadReport Lro => OffloadReport.Never;
    }

    private readonly struct ChecksEveryFrame : IReceiveFacts
    {
        public static OffloadReport Checksum => OffloadReport.EveryFrame;
        public static OffloadReport RssHash => OffloadReport.Never;
        public static OffloadReport Lro => OffloadReport.PerFrame;
    }

    private static StackHarness WithEcho(bool ipv6)
    {
        var h = Host();
        Assert.Equal(UdpError.None, h.Udp.Start(new UdpEchoApp(ipv6 ? InetEndpoint.Ipv6(Ipv6Address.Any, 7) : InetEndpoint.Ipv4(Ipv4Address.Any, 7))));
        return h;
    }

    private static byte[] BadUdp(StackHarness h, bool ipv6)
    {
        byte[] frame = ipv6
            ? Frames.Udp6Frame(h.Mac(0), Client6, Ours6, 40000, 7, Frames.Payload(20))
            : Frames.Udp4Frame(h.Mac(0), Client, Ours, 40000, 7, Frames.Payload(20));
        frame[^1] ^= 0x40;
        return frame;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_driver_that_never_checks_gets_every_checksum_verified_whatever_a_stale_flag_says(bool ipv6)
    {
        StackHarness perFrame = WithEcho(ipv6), never = WithEcho(ipv6);

        perFrame.Receive<UnknownDriverFacts>(0, BadUdp(perFrame, ipv6), OffloadFlags.L4ChecksumVerified);
        never.Receive<NeverChecks>(0, BadUdp(never, ipv6), OffloadFlags.L4ChecksumVerified);

        Assert.Equal(1, perFrame.Count(UdpCounter.Delivered)); // the flag is read, and believed
        Assert.Equal(0, never.Count(UdpCounter.Delivered));   // the flag is not read
        Assert.Equal(1, never.Count(UdpCounter.BadChecksum));
    }

    [Fact]
    public void A_driver_that_never_checks_gets_the_ipv4_header_checksum_verified_too()
    {
        StackHarness h = WithEcho(ipv6: false);
        byte[] frame = Frames.Udp4Frame(h.Mac(0), Client, Ours, 40000, 7, Frames.Payload(20));
        frame[14 + 10] ^= 0x01; // the header checksum

        h.Receive<NeverChecks>(0, frame, OffloadFlags.Ipv4ChecksumVerified);

        Assert.Equal(1, h.Count(IpCounter.BadChecksum));
        Assert.Empty(h.Sent(0));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_driver_that_checks_every_frame_is_trusted_without_a_flag(bool ipv6)
    {
        StackHarness perFrame = WithEcho(ipv6), every = WithEcho(ipv6);

        perFrame.Receive<UnknownDriverFacts>(0, BadUdp(perFrame, ipv6));
        every.Receive<ChecksEveryFrame>(0, BadUdp(every, ipv6));

        Assert.Equal(1, perFrame.Count(UdpCounter.BadChecksum));
        Assert.Equal(0, every.Count(UdpCounter.BadChecksum));
        Assert.Equal(1, every.Count(UdpCounter.Delivered));
        Assert.Single(every.Sent(0));
    }

    [Fact]
    public void A_ping_from_a_driver_that_checks_every_frame_is_answered_without_a_software_check()
    {
        StackHarness h = Host();
        byte[] echo = Frames.IcmpEcho(8, 7, 1, 32);
        echo[^1] ^= 0x10; // wrong, but the driver vouches for every frame

        h.Receive<ChecksEveryFrame>(0, Frames.Ipv4Frame(h.Mac(0), Client, Ours, 1, echo));

        Assert.Equal(0, h.Count(IcmpCounter.BadChecksum));
        Assert.Equal(1, h.Count(IcmpCounter.EchoReplies));
    }

    [Fact]
    public void A_driver_that_never_merges_is_not_asked_whether_a_frame_is_a_super_frame()
    {
        StackHarness perFrame = WithEcho(ipv6: false), never = WithEcho(ipv6: false);
        byte[] frame = Frames.Udp4Frame(perFrame.Mac(0), Client, Ours, 40000, 7, Frames.Payload(20));

        // A stale segmentation type left in the metadata: believed where the driver may merge, not read where it never does.
        perFrame.Receive<UnknownDriverFacts>(0, frame, gso: GsoType.Udp);
        never.Receive<NeverChecks>(0, Frames.Udp4Frame(never.Mac(0), Client, Ours, 40000, 7, Frames.Payload(20)), gso: GsoType.Udp);

        Assert.Equal(1, perFrame.Count(OffloadCounter.Received));
        Assert.Equal(1, perFrame.Count(OffloadCounter.BadSegmentSize)); // and what it claimed was checked: no segment size
        Assert.Equal(0, never.Count(OffloadCounter.Received));
        Assert.Equal(1, never.Count(UdpCounter.Delivered));
    }
}
