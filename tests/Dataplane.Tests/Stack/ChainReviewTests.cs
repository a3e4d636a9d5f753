using Dataplane.Buffers;
using Dataplane.Stack;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack;

/// <summary>Found in review of the chain-aware input (issue 11): each failed before its fix.</summary>
public class ChainReviewTests
{
    [Fact]
    public void A_chained_arp_request_gets_a_42_byte_reply_with_consistent_metadata()
    {
        StackHarness h = Router(mtu0: 9000).Started();
        byte[] request = Frames.ArpRequest(PeerMac, Client, Ours);
        byte[] padded = [.. request, .. new byte[5000]]; // a jumbo link: junk behind the ARP packet
        h.ReceiveChained(0, padded);
        byte[] reply = Assert.Single(h.Sent(0)); // Bytes() asserts PacketLength == sum of DataLength
        Assert.Equal(Frames.ArpReply(h.Mac(0), Ours, PeerMac, Client), reply);
        Assert.Equal(0, h.BuffersOutstanding);
    }
}

public class UdpSizeReviewTests
{
    private sealed class NullApp : Dataplane.Stack.Transport.UdpApp
    {
        public override string Name => "null";
        protected override Dataplane.Stack.Transport.UdpError OnStart() => Dataplane.Stack.Transport.UdpError.None;
        public override void OnDatagram(Dataplane.Stack.Transport.UdpSocket socket, ref Dataplane.Stack.Transport.UdpReceived datagram) { }
    }

    [Theory]
    [InlineData(65494)] // frame 65536: goes
    [InlineData(65507)] // the largest IPv4 UDP payload: frame 65549
    public void The_largest_ipv4_udp_datagram_is_sent_in_fragments_not_refused_as_no_buffer(int size)
    {
        StackHarness h = Host();
        var app = new NullApp();
        Assert.Equal(Dataplane.Stack.Transport.UdpError.None, h.Udp.Start(app));
        var socket = h.Udp.Open(false, app);
        Assert.Equal(Dataplane.Stack.Transport.UdpError.None, socket.SendTo(Dataplane.Stack.Transport.InetEndpoint.Ipv4(Server, 9), new byte[size]));
        Assert.Equal(0, h.Count(IpCounter.NoBuffer));
        Assert.True(h.Sent(1).Count > 40);
        Assert.Equal(0, h.BuffersOutstanding);
    }
}

public class GsoReviewTests
{
    // A TCP super-frame as a tap with TUN_F_TSO4 hands it (set tso on): one chain, gso TcpV4, mss 1448.
    [Fact]
    public void A_tcp_super_frame_from_a_tso_tap_is_not_answered_with_fragmentation_needed_but_forwarded_in_segments()
    {
        StackHarness h = Router(capabilities: [Dataplane.Ports.PortCapabilities.Lro, Dataplane.Ports.PortCapabilities.None]).Started().KnowingPeers();
        byte[] tcp = new byte[20 + 8 * 1448];
        tcp[12] = 5 << 4; // data offset
        byte[] frame = Frames.Ipv4Frame(h.Mac(0), Client, Server, 6, tcp, dontFragment: true);
        int room = h.Pool.DataRoom;
        PacketBuffer head = PacketBuffer.None, tail = PacketBuffer.None;
        int segments = 0;
        for (int at = 0; at < frame.Length; segments++)
        {
            int piece = Math.Min(room, frame.Length - at);
            Assert.True(h.Cache.TryAllocate(out PacketBuffer b));
            ref BufferMetadata bm = ref h.Pool.Metadata(b);
            bm.DataLength = (ushort)piece;
            bm.PacketLength = piece;
            frame.AsSpan(at, piece).CopyTo(h.Pool.Data(b));
            if (head.IsValid) h.Pool.Metadata(tail).Next = b.Index; else head = b;
            tail = b;
            at += piece;
        }
        ref BufferMetadata m = ref h.Pool.Metadata(head);
        m.PacketLength = frame.Length;
        m.Segments = (byte)segments;
        m.Gso = GsoType.TcpV4;
        m.SegmentSize = 1448;
        m.Offload = OffloadFlags.L4ChecksumPartial;
        m.ChecksumStart = 34;
        m.ChecksumOffset = 16;
        h.Worker.Input(0, head);
        h.Context.FlushAll();
        Assert.Equal(0, h.Count(IpCounter.CantFragment)); // it was answered with fragmentation needed (mtu 1500) to the host
        Assert.Empty(h.Sent(0));
        List<byte[]> sent = h.Sent(1);
        Assert.Equal(8, sent.Count); // cut into its eight segments for a port that cannot segment
        Assert.All(sent, f => Assert.Equal(14 + 20 + 20 + 1448, f.Length));
        Assert.Equal(1, h.Count(OffloadCounter.Segmented));
        Assert.Equal(0, h.BuffersOutstanding);
    }
}
