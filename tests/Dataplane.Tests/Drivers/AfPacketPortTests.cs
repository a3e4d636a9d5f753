using System.Buffers.Binary;
using System.Diagnostics;
using Dataplane.Buffers;
using Dataplane.Drivers;
using Dataplane.Drivers.AfPacket;
using Dataplane.Engine;
using Dataplane.Native;
using Dataplane.Ports;
using Dataplane.Tests.Stack;
using Dataplane.Wire;

namespace Dataplane.Tests.Drivers;

/// <summary>
/// The afpacket driver against a Linux peer in a network namespace (<see cref="AfPacketLab"/>):
/// frames the peer's stack sends arrive with the kernel's metadata, frames we build reach the peer
/// and satisfy its ping and tshark, partial checksums, jumbo chains, VLAN tags, fanout and drops.
/// One class, so the tests run one after the other in the one lab name this process may use.
/// </summary>
[Trait("Category", "Linux")]
public class AfPacketPortTests
{
    /// <summary>The bound of every wait for the kernel or a peer tool: a safety net, generous for a loaded machine.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>A UDP port for datagrams that mark the end of a count, apart from the discard port's.</summary>
    private const int Marker = 10;

    private static void RequireLab()
    {
        string? reason = AfPacketLab.CannotRunBecause();
        Skip.If(reason is not null, reason);
    }

    [SkippableFact]
    public void Frames_the_peer_sends_arrive_once_across_two_fanout_queues_with_their_metadata()
    {
        RequireLab();
        using var lab = new AfPacketLab();
        using AfPacketPort port = AfPacketPort.Open("p0", lab.Interface, queues: 2, portIndex: 3);
        var pool = new BufferPool(4096);
        var drain = new QueueDrain(port, new BufferCache(pool));
        port.Start();

        Assert.Equal("afpacket", port.Driver);
        Assert.Equal(2, port.QueueCount);
        // The veth's carrier comes up a moment after the interface does: on a loaded machine
        // later than the port starts (seen in CI). Bounded wait.
        Assert.True(LinuxLab.Until(() => port.LinkUp, TimeSpan.FromSeconds(10)), "the link never came up");
        Assert.True(port.Promiscuous);
        Assert.True((port.Capabilities & PortCapabilities.Tso) == 0, "TSO offered without being asked for");
        Assert.Equal(1500, port.Mtu);
        Assert.Equal(LinuxLab.Run("cat", $"/sys/class/net/{lab.Interface}/address").Trim(), port.Mac.ToString());

        // Take in what came before (the peer sends nothing unasked, but the count starts clean), so
        // that what it sends from now on is what we count.
        long before = SettledPeerCount(lab, drain);
        long countedBefore = port.Counters(0).ReceivedPackets + port.Counters(1).ReceivedPackets;
        drain.Frames.Clear();

        // Nobody answers ARP for 10.67.0.1: the peer's ping only sends ARP requests.
        lab.TryInPeer("ping", "-c", "3", "-i", "0.3", "-W", "1", AfPacketLab.Local.ToString());
        // With the neighbour set, 64 datagrams from 64 source ports: 64 flows for the fanout hash.
        lab.SetPeerNeighbor(port.Mac);
        lab.SendUdpFromPeer(64);
        long sent = SettledPeerCount(lab, drain) - before;

        List<ReceivedFrame> frames = drain.Frames;
        Assert.True(sent == frames.Count, $"the peer sent {sent}, the queues got {frames.Count}: {Describe(frames)}"); // each frame on exactly one queue, none lost
        Assert.Equal(frames.Count, port.Counters(0).ReceivedPackets + port.Counters(1).ReceivedPackets - countedBefore);
        Assert.Equal(0, port.Counters(0).ReceiveDrops + port.Counters(1).ReceiveDrops);
        Assert.All(frames, f => Assert.Equal(3, f.Metadata.Port));
        Assert.All(frames, f => Assert.Equal(f.Bytes.Length, f.Metadata.PacketLength));

        ReceivedFrame[] arp = [.. frames.Where(f => f.EtherType == EtherType.Arp)];
        Assert.NotEmpty(arp);
        foreach (ReceivedFrame f in arp)
        {
            Assert.Equal(42, f.Metadata.PacketLength); // veth does not pad to 60
            Assert.True(ArpPacket.Repr.TryParse(f.Bytes.AsSpan(14), out ArpPacket.Repr request));
            Assert.Equal(ArpOperation.Request, request.Operation);
            Assert.Equal(AfPacketLab.PeerAddress, request.SenderProtocolAddress);
            Assert.Equal(AfPacketLab.Local, request.TargetProtocolAddress);
            Assert.Equal(f.Queue, f.Metadata.Queue);
        }

        ReceivedFrame[] udp = [.. frames.Where(IsUdpToDiscard)];
        Assert.Equal(64, udp.Length);
        Assert.All(udp, f =>
        {
            Assert.Equal(f.Queue, f.Metadata.Queue);
            // The kernel's flow hash is not the engine's placement hash: the engine hashes every frame.
            Assert.True((f.Metadata.Offload & OffloadFlags.RssHashValid) == 0, "a hash was claimed as the symmetric RSS hash");
            Assert.Equal(1, f.Metadata.Segments);
        });
        // 64 flows over two queues: both get some (all on one would be a 1 in 2^63 chance).
        Assert.Contains(udp, f => f.Queue == 0);
        Assert.Contains(udp, f => f.Queue == 1);
        // Each on the queue of the worker an engine of two would give it (the fanout group runs the
        // engine's hash and owners), and ARP, which the engine hashes to 0, on the first entry's.
        Assert.Equal(HostFlowSteering.SteeredMode, port.Mode);
        Assert.Null(port.SteeringProblem);
        var owners = new RssIndirectionTable(2);
        var hash = ToeplitzHash.CreateSymmetric();
        Assert.All(udp.Concat(arp), f => Assert.Equal(owners.OwnerOf(FlowKey.FrameHash(hash, f.Bytes, f.Bytes.Length)), f.Queue));
    }

    [SkippableFact]
    public void Frames_we_build_answer_the_peers_arp_and_ping_and_tshark_reads_them_clean()
    {
        RequireLab();
        using var lab = new AfPacketLab();
        using AfPacketPort port = AfPacketPort.Open("p0", lab.Interface);
        var pool = new BufferPool(1024);
        var cache = new BufferCache(pool);
        port.Start();
        string capture = Path.Combine(Path.GetTempPath(), $"dpa{Environment.ProcessId}-tx.pcap");
        try
        {
            // What arrives at the peer is what we sent: one ARP reply and three echo replies.
            Process tcpdump = lab.StartInPeer("tcpdump", "-i", lab.PeerInterface, "-Q", "in", "-U", "-n", "-Z", "root",
                "-c", "4", "-w", capture, "arp or icmp");
            WaitUntilListening(tcpdump);

            Process ping = lab.StartInPeer("ping", "-c", "3", "-i", "0.2", "-W", "1", AfPacketLab.Local.ToString());
            int answered = Respond(port, cache, until: () => ping.HasExited);
            Assert.True(ping.WaitForExit(Patience), "ping did not end");
            string pingOutput = ping.StandardOutput.ReadToEnd();
            Assert.True(ping.ExitCode == 0, $"ping failed: {pingOutput}{ping.StandardError.ReadToEnd()}");
            Assert.Contains("3 received", pingOutput, StringComparison.Ordinal);
            Assert.True(answered >= 4, $"answered {answered}");
            Assert.Equal(answered, port.Counters(0).TransmittedPackets);
            Assert.Equal(0, port.Counters(0).Errors);

            Assert.True(tcpdump.WaitForExit(Patience), "tcpdump did not see 4 frames");
            string fields = LinuxLab.Run("tshark", "-r", capture, "-T", "fields",
                "-e", "eth.src", "-e", "arp.opcode", "-e", "icmp.type", "-e", "icmp.checksum.status", "-e", "ip.checksum.status");
            string[] lines = fields.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Where(l => l.StartsWith(port.Mac.ToString(), StringComparison.Ordinal)).ToArray();
            Assert.True(lines.Length == 4, fields);
            Assert.Contains(lines, l => l.Split('\t')[1] == "2"); // an ARP reply
            Assert.Equal(3, lines.Count(l => l.Split('\t')[2] == "0" && l.Split('\t')[3] == "1")); // echo replies, checksum good
            string bad = LinuxLab.Run("tshark", "-r", capture, "-Y", "_ws.malformed || _ws.expert.severity >= 8388608");
            Assert.True(bad.Split('\n', StringSplitOptions.RemoveEmptyEntries).All(l => l.StartsWith("Running as user", StringComparison.Ordinal)), bad);
        }
        finally
        {
            File.Delete(capture);
        }
    }

    [SkippableFact]
    public void A_partial_checksum_from_the_peer_arrives_marked_partial_and_completes_to_a_valid_one()
    {
        RequireLab();
        using var lab = new AfPacketLab();
        using AfPacketPort port = AfPacketPort.Open("p0", lab.Interface);
        var pool = new BufferPool(1024);
        var drain = new QueueDrain(port, new BufferCache(pool));
        port.Start();
        lab.SetPeerNeighbor(port.Mac);

        // veth offers checksum offload, so the peer's stack leaves UDP checksums for "hardware":
        // the skb crosses as CHECKSUM_PARTIAL and the virtio-net header says NEEDS_CSUM.
        string features = lab.InPeer("ethtool", "-k", lab.PeerInterface);
        Assert.Contains("tx-checksumming: on", features, StringComparison.Ordinal);
        ReceivedFrame partial = SendOneDatagram(lab, drain);
        Assert.True((partial.Metadata.Offload & OffloadFlags.L4ChecksumPartial) != 0, $"offload {partial.Metadata.Offload}");
        Assert.Equal(14 + 20, partial.Metadata.ChecksumStart);
        Assert.Equal(6, partial.Metadata.ChecksumOffset);
        byte[] frame = partial.Bytes;
        Assert.False(VerifyUdp(frame), "a partial checksum verified before it was completed");
        // What the stack will do with it: the field holds the pseudo-header sum; fold in the rest.
        Span<byte> covered = frame.AsSpan(partial.Metadata.ChecksumStart);
        ushort checksum = InternetChecksum.Finish(InternetChecksum.Add(0, covered));
        BinaryPrimitives.WriteUInt16BigEndian(covered[partial.Metadata.ChecksumOffset..], checksum == 0 ? (ushort)0xFFFF : checksum);
        Assert.True(VerifyUdp(frame));

        // Without the offload the peer's stack computes the checksum itself: complete, nothing partial.
        lab.InPeer("ethtool", "-K", lab.PeerInterface, "tx", "off");
        ReceivedFrame complete = SendOneDatagram(lab, drain);
        Assert.Equal(0, (int)(complete.Metadata.Offload & OffloadFlags.L4ChecksumPartial));
        Assert.True(VerifyUdp(complete.Bytes));
    }

    [SkippableFact]
    public void A_jumbo_frame_arrives_as_an_intact_chain_and_a_jumbo_reply_leaves_whole()
    {
        RequireLab();
        using var lab = new AfPacketLab(mtu: 9000);
        using AfPacketPort port = AfPacketPort.Open("p0", lab.Interface);
        var pool = new BufferPool(1024);
        var cache = new BufferCache(pool);
        port.Start();
        Assert.Equal(9000, port.Mtu);
        lab.SetPeerNeighbor(port.Mac);

        var requests = new List<ReceivedFrame>();
        Process ping = lab.StartInPeer("ping", "-c", "1", "-s", "8000", "-W", "2", AfPacketLab.Local.ToString());
        Respond(port, cache, until: () => ping.HasExited, seen: requests);
        Assert.True(ping.WaitForExit(Patience), "ping did not end");
        string pingOutput = ping.StandardOutput.ReadToEnd();
        Assert.True(ping.ExitCode == 0, $"no reply to the 8000-byte ping: {pingOutput}");

        ReceivedFrame request = Assert.Single(requests, f => f.EtherType == EtherType.Ipv4);
        const int Length = 14 + 20 + 8 + 8000;
        int room = pool.BufferSize - pool.Headroom;
        Assert.Equal(Length, request.Metadata.PacketLength);
        Assert.Equal((Length + room - 1) / room, request.Metadata.Segments);
        Assert.Equal(request.Metadata.Segments, request.Pieces.Length);
        Assert.All(request.Pieces[..^1], piece => Assert.Equal(room, piece));
        Assert.Equal(Length, request.Bytes.Length);
        // The bytes, across the buffer boundaries: both checksums hold and ping's fill pattern is intact.
        Assert.True(Ipv4Packet.TryCreate(request.Bytes.AsSpan(14), out Ipv4Packet ip) && ip.VerifyHeaderChecksum());
        Assert.True(InternetChecksum.IsValid(ip.Payload));
        ReadOnlySpan<byte> data = ip.Payload[8..];
        for (int i = 16; i < data.Length; i++) // the first 16 bytes are ping's timestamp
            Assert.True(data[i] == (byte)i, $"byte {i} of the echo data is {data[i]}");
    }

    [SkippableFact]
    public void Frames_longer_than_a_slot_leave_whole_by_sendmsg_in_order_among_the_slots_and_the_MTU_comes_back()
    {
        RequireLab();
        using var lab = new AfPacketLab(mtu: 9000);
        lab.InPeer("ip", "link", "set", lab.PeerInterface, "mtu", "20000");
        AfPacketPort port = AfPacketPort.Open("p0", lab.Interface, mtu: 20000);
        try
        {
            var pool = new BufferPool(1024);
            var cache = new BufferCache(pool);
            port.Start();
            Assert.Equal(20000, port.Mtu); // set by the port
            Assert.True(LinuxLab.Until(() => port.LinkUp, TimeSpan.FromSeconds(10)), "the link never came up");
            MacAddress peer = lab.PeerMac();

            // The peer's UDP socket reports each datagram's length and SHA-256 in the order they came:
            // its stack took them whole, checksums good. 1,000 and 8,000 bytes go through the ring
            // (a 16 KiB slot), 19,000 by sendmsg (longer than a slot), 100 through the ring again.
            int[] lengths = [1000, 19000, 8000, 100];
            Process receiver = lab.StartInPeer("python3", "-u", "-c", $$"""
                import hashlib, socket
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(('{{AfPacketLab.PeerAddress}}', 5001))
                s.settimeout(20)
                print('ready')
                for _ in range({{lengths.Length}}):
                    d = s.recv(65535)
                    print(len(d), hashlib.sha256(d).hexdigest())
                """);
            Assert.True(receiver.StandardOutput.ReadLineAsync().Wait(Patience), "the peer's receiver did not start");

            var burst = new PacketBuffer[lengths.Length];
            var expected = new List<string>();
            for (int i = 0; i < lengths.Length; i++)
            {
                byte[] payload = Frames.Payload(lengths[i], seed: (byte)i);
                expected.Add($"{lengths[i]} {Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(payload))}");
                burst[i] = Chain(cache, UdpFrame(port.Mac, peer, 5001, payload, id: (ushort)i));
            }
            Assert.True(pool.Metadata(burst[1]).Segments > 1);
            int[] cpus = CurrentThread.GetAffinity();
            int taken;
            try
            {
                // One CPU for the burst: veth hands each frame to the backlog of the CPU that sent it,
                // so frames sent from two CPUs could be taken in by the peer out of order.
                CurrentThread.PinToCpu(CurrentThread.Cpu);
                taken = port.Queue(0, cache).Transmit(burst);
            }
            finally
            {
                CurrentThread.SetAffinity(cpus);
            }
            Assert.Equal(lengths.Length, taken);
            QueueCounters counters = port.Counters(0);
            Assert.True(counters.Errors == 0 && counters.TransmitDrops == 0, $"errors {counters.Errors}, drops {counters.TransmitDrops}");
            Assert.True(receiver.WaitForExit(Patience), "the peer did not get every datagram");
            string[] got = receiver.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(receiver.ExitCode == 0, receiver.StandardError.ReadToEnd());
            Assert.Equal(expected, got);
            Assert.Equal(lengths.Length, port.Counters(0).TransmittedPackets);
            Assert.Equal(lengths.Sum(l => 14 + 20 + 8 + l), port.Counters(0).TransmittedBytes);
            Assert.Equal(0, port.Counters(0).Errors);

            // Not a super-frame and longer than the MTU: the kernel refuses it (EMSGSIZE), counted, released.
            PacketBuffer tooLong = Chain(cache, UdpFrame(port.Mac, peer, 5001, Frames.Payload(20000 - 28 + 1), id: 9));
            Assert.Equal(1, port.Queue(0, cache).Transmit([tooLong]));
            Assert.Equal(1, port.Counters(0).Errors);
            Assert.Equal(lengths.Length, port.Counters(0).TransmittedPackets);

            // Sending by sendmsg allocates nothing: prebuilt 19,000-byte chains to a port nobody
            // listens on (the peer answers port unreachable, rate-limited; nobody reads it).
            var chains = new PacketBuffer[16];
            AfPacketQueue queue = port.Queue(0, cache);
            long allocated = Allocations.Least(3, () =>
            {
                int sent = queue.Transmit(chains);
                cache.Release(chains.AsSpan(sent));
            }, prepare: () =>
            {
                for (int i = 0; i < chains.Length; i++)
                    chains[i] = Chain(cache, UdpFrame(port.Mac, peer, 5002, Frames.Payload(19000), id: (ushort)(100 + i)));
            });
            Assert.Equal(0, allocated);
            Assert.Equal(1, port.Counters(0).Errors);
            Assert.Equal(pool.Count, pool.Shared.Count + cache.Count); // every buffer came back
        }
        finally
        {
            port.Dispose();
        }
        Assert.Equal(9000, LinkControl.GetMtu(lab.Interface)); // given back as it was
    }

    [SkippableFact]
    public void An_mtu_the_interface_refuses_names_the_port_and_the_value_and_leaves_the_mtu_as_it_was()
    {
        RequireLab();
        using var lab = new AfPacketLab(mtu: 9000);
        int sockets = PacketSocketsBoundTo(LinkControl.IndexOf(lab.Interface));

        var e = Assert.Throws<NativeException>(() => AfPacketPort.Open("p5", lab.Interface, mtu: 70000));

        Assert.StartsWith($"port p5: afpacket on interface {lab.Interface}: cannot set the MTU to 70000", e.Message, StringComparison.Ordinal);
        Assert.Equal(Errno.EINVAL, Assert.IsType<NativeException>(e.InnerException).Errno.Number);
        Assert.Equal(9000, LinkControl.GetMtu(lab.Interface));
        Assert.Equal(sockets, PacketSocketsBoundTo(LinkControl.IndexOf(lab.Interface)));
    }

    [SkippableFact]
    public void A_TSO_super_frame_leaves_whole_with_its_segment_size_and_the_peers_TCP_takes_every_byte()
    {
        RequireLab();
        using var lab = new AfPacketLab();
        using AfPacketPort port = AfPacketPort.Open("p0", lab.Interface, tso: true);
        var pool = new BufferPool(1024);
        var cache = new BufferCache(pool);
        var drain = new QueueDrain(port, cache);
        port.Start();
        Assert.True((port.Capabilities & PortCapabilities.Tso) != 0, "TSO asked for and not offered");
        Assert.True(LinuxLab.Until(() => port.LinkUp, TimeSpan.FromSeconds(10)), "the link never came up");
        lab.SetPeerNeighbor(port.Mac);
        MacAddress peer = lab.PeerMac();

        // A packet socket on the peer's end reports the length of each TCP frame to port 5003 as it
        // arrives there, until the ten segments' worth of data came.
        const int Mss = 1448, Segments = 10, Data = Mss * Segments;
        Process capture = lab.StartInPeer("python3", "-u", "-c", $$"""
            import socket, time
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
            s.bind(('{{lab.PeerInterface}}', 0x0800))
            s.settimeout(1)
            print('ready')
            data, end = 0, time.time() + 20
            while data < {{Data}} and time.time() < end:
                try:
                    f, a = s.recvfrom(65536)
                except socket.timeout:
                    continue
                if a[2] == socket.PACKET_OUTGOING or f[23] != 6 or int.from_bytes(f[36:38], 'big') != 5003:
                    continue
                print(len(f))
                data += len(f) - 54
            """);
        Assert.True(capture.StandardOutput.ReadLineAsync().Wait(Patience), "the peer's capture did not start");

        // Ethernet, IPv4, TCP (PSH, no ACK: the peer's closed port answers with a reset whose ack is
        // the sequence number after the last byte it took, RFC 9293 3.10.7.1), 14,480 bytes of data.
        const uint Sequence = 1000;
        byte[] frame = TcpSuperFrame(port.Mac, peer, Sequence, Frames.Payload(Data));
        PacketBuffer head = Chain(cache, frame);
        ref BufferMetadata m = ref pool.Metadata(head);
        m.Offload |= OffloadFlags.L4ChecksumPartial;
        m.ChecksumStart = 14 + 20;
        m.ChecksumOffset = 16;
        m.Gso = GsoType.TcpV4;
        m.SegmentSize = Mss;
        Assert.Equal(1, port.Queue(0, cache).Transmit([head]));
        Assert.Equal(1, port.Counters(0).TransmittedPackets);
        Assert.Equal(frame.Length, port.Counters(0).TransmittedBytes);
        Assert.Equal(0, port.Counters(0).Errors);

        Assert.True(capture.WaitForExit(Patience), "the capture did not end");
        string[] arrived = capture.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // veth offers TSO, so the kernel hands the super-frame to it whole and the peer gets one frame.
        Assert.Equal([frame.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)], arrived);

        // The peer's TCP took all of it, checksum good: its reset acknowledges every byte.
        Assert.True(drain.Until(fs => fs.Any(f => ResetAck(f) == Sequence + Data), Patience),
            $"no reset acknowledging {Data} bytes: {Describe(drain.Frames)}");
        Assert.Equal(pool.Count, pool.Shared.Count + cache.Count);
    }

    /// <summary>A UDP datagram from 10.67.0.1 port 40000 to the peer's <paramref name="port"/>, in a frame to <paramref name="to"/>.</summary>
    private static byte[] UdpFrame(MacAddress from, MacAddress to, ushort port, byte[] payload, ushort id) =>
        Frames.Ethernet(to, from, Frames.TypeIpv4,
            Frames.Ipv4(AfPacketLab.Local, AfPacketLab.PeerAddress, 17, id,
                Frames.Udp4(AfPacketLab.Local, AfPacketLab.PeerAddress, 40000, port, payload)));

    /// <summary>
    /// A TCP super-frame from 10.67.0.1 port 40000 to the peer's port 5003 with PSH alone: its
    /// checksum field holds the pseudo-header sum over the whole TCP length, as a partial checksum does.
    /// </summary>
    private static byte[] TcpSuperFrame(MacAddress from, MacAddress to, uint sequence, byte[] data)
    {
        var tcp = new byte[20 + data.Length];
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(2), 5003);
        BinaryPrimitives.WriteUInt32BigEndian(tcp.AsSpan(4), sequence);
        tcp[12] = 5 << 4;
        tcp[13] = 0x08; // PSH
        BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(14), 65535);
        data.CopyTo(tcp, 20);
        var pseudo = new byte[12];
        AfPacketLab.Local.CopyTo(pseudo);
        AfPacketLab.PeerAddress.CopyTo(pseudo.AsSpan(4));
        pseudo[9] = 6;
        BinaryPrimitives.WriteUInt16BigEndian(pseudo.AsSpan(10), (ushort)tcp.Length);
        BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(16), (ushort)~Frames.Checksum(pseudo));
        return Frames.Ethernet(to, from, Frames.TypeIpv4,
            Frames.Ipv4(AfPacketLab.Local, AfPacketLab.PeerAddress, 6, 1, tcp, flagsAndOffset: 0x4000));
    }

    /// <summary>The acknowledgment number of a TCP reset from the peer's port 5003, or -1.</summary>
    private static long ResetAck(ReceivedFrame f)
    {
        if (f.EtherType != EtherType.Ipv4 || !Ipv4Packet.TryCreate(f.Bytes.AsSpan(14), out Ipv4Packet ip) || ip.Protocol != IpProtocol.Tcp)
            return -1;
        ReadOnlySpan<byte> tcp = ip.Payload;
        if (tcp.Length < 20 || BinaryPrimitives.ReadUInt16BigEndian(tcp) != 5003 || (tcp[13] & 0x04) == 0)
            return -1;
        return BinaryPrimitives.ReadUInt32BigEndian(tcp[8..]);
    }

    /// <summary>Copies <paramref name="frame"/> into a chain of <paramref name="cache"/>'s buffers.</summary>
    private static PacketBuffer Chain(BufferCache cache, byte[] frame)
    {
        var writer = new BufferChainWriter(cache);
        Assert.True(writer.TryStart() && writer.TryWrite(frame));
        writer.Finish();
        return writer.Head;
    }

    [SkippableFact]
    public void A_VLAN_tag_the_kernel_took_out_of_the_frame_is_put_back()
    {
        RequireLab();
        using var lab = new AfPacketLab();
        using AfPacketPort port = AfPacketPort.Open("p0", lab.Interface);
        var pool = new BufferPool(1024);
        var drain = new QueueDrain(port, new BufferCache(pool));
        port.Start();

        // A tagged frame (priority 5, VLAN 11) of the local experimental EtherType, sent raw by the
        // peer. Our end's receive path moves the tag into skb->vlan_tci before packet sockets see it.
        var frame = new byte[64];
        port.Mac.CopyTo(frame);
        lab.PeerMac().CopyTo(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), (ushort)EtherType.Vlan);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(14), 5 << 13 | 11);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(16), 0x88b5);
        System.Text.Encoding.ASCII.GetBytes("dataplane-vlan").CopyTo(frame, 18);
        lab.SendRawFromPeer(frame);

        Assert.True(drain.Until(fs => fs.Any(f => f.EtherType == EtherType.Vlan), Patience), $"no tagged frame arrived: {Describe(drain.Frames)}");
        ReceivedFrame tagged = drain.Frames.First(f => f.EtherType == EtherType.Vlan);
        Assert.Equal(Convert.ToHexString(frame), Convert.ToHexString(tagged.Bytes));
        Assert.Equal(frame.Length, tagged.Metadata.PacketLength);
    }

    [SkippableFact]
    public void Frames_longer_than_a_slot_come_whole_by_recvmsg_in_order_among_the_slots_with_their_VLAN_tags()
    {
        RequireLab();
        using var lab = new AfPacketLab(mtu: 30_000);
        using AfPacketPort port = AfPacketPort.Open("p0", lab.Interface);
        var pool = new BufferPool(1024);
        var drain = new QueueDrain(port, new BufferCache(pool));
        port.Start();

        // Receive slots stop at 16 KiB: the 20,000- and 29,000-byte frames are cut to their slots
        // and come whole off the socket's queue, between the short ones that fit their slots.
        (int, ushort)[] frames =
        [
            (64, 0), (20_000, 0), (64, 5 << 13 | 11), (29_000, 5 << 13 | 11), (1_514, 0), (20_000, 0), (20_000, 7), (64, 0),
        ];
        lab.SendNumberedFromPeer(port.Mac, frames);

        Assert.True(drain.Until(fs => fs.Count(IsNumbered) == frames.Length, Patience), $"not every numbered frame arrived: {Describe(drain.Frames)}");
        ReceivedFrame[] numbered = [.. drain.Frames.Where(IsNumbered)];
        int room = pool.BufferSize - pool.Headroom;
        for (int i = 0; i < frames.Length; i++)
        {
            (int length, ushort tag) = frames[i];
            ReceivedFrame f = numbered[i];
            Assert.Equal(i, Number(f));
            Assert.Equal(length, f.Bytes.Length);
            Assert.Equal(length, f.Metadata.PacketLength);
            Assert.Equal((length + room - 1) / room, f.Metadata.Segments);
            Assert.Equal(f.Metadata.Segments, f.Pieces.Length);
            Assert.Equal(lab.PeerMac().ToString(), new MacAddress(f.Bytes.AsSpan(6, 6)).ToString());
            int at = 12;
            if (tag != 0)
            {
                Assert.Equal((ushort)EtherType.Vlan, BinaryPrimitives.ReadUInt16BigEndian(f.Bytes.AsSpan(12)));
                Assert.Equal(tag, BinaryPrimitives.ReadUInt16BigEndian(f.Bytes.AsSpan(14)));
                at = 16;
            }
            int body = at + 6;
            for (int j = body; j < length; j++)
                Assert.True(f.Bytes[j] == AfPacketLab.NumberedByte(i, j - body), $"frame {i} byte {j} is {f.Bytes[j]}");
        }
        Assert.Equal(0, port.Counters(0).ReceiveDrops);
    }

    [SkippableFact]
    public void Long_frames_past_the_queue_room_are_counted_as_drops_and_the_rest_stay_whole_and_in_order()
    {
        RequireLab();
        using var lab = new AfPacketLab(mtu: 65_000);
        using AfPacketPort port = AfPacketPort.Open("p0", lab.Interface);
        var pool = new BufferPool(4096);
        var drain = new QueueDrain(port, new BufferCache(pool));
        port.Start();

        // Nobody reads while the peer sends 400 frames of 64,000 bytes: each fits a slot only cut,
        // and the socket's receive buffer holds about 250 of them whole (16 MiB of truesize); the
        // slots of the rest say cut and not queued. The 512 slots hold all 400.
        const int Count = 400, Length = 64_000;
        lab.SendNumberedFromPeer(port.Mac, [.. Enumerable.Repeat((Length, (ushort)0), Count)]);
        drain.UntilQuiet(TimeSpan.FromMilliseconds(500), Patience);

        ReceivedFrame[] numbered = [.. drain.Frames.Where(IsNumbered)];
        long drops = port.Counters(0).ReceiveDrops;
        Assert.True(drops > 0, $"no drops: {numbered.Length} frames came whole");
        Assert.NotEmpty(numbered);
        Assert.Equal(Count, numbered.Length + drops);
        // Whole and in order: a cut frame never put the queue out of step with the slots.
        Assert.Equal(numbered.Select(Number).Order(), numbered.Select(Number));
        Assert.All(numbered, f =>
        {
            Assert.Equal(Length, f.Bytes.Length);
            int n = Number(f);
            for (int j = 18; j < Length; j += 997)
                Assert.Equal(AfPacketLab.NumberedByte(n, j - 18), f.Bytes[j]);
            Assert.Equal(AfPacketLab.NumberedByte(n, Length - 1 - 18), f.Bytes[^1]);
        });

        // The queue recovers: frames sent now all arrive.
        drain.Frames.Clear();
        lab.SendNumberedFromPeer(port.Mac, [(64, 0), (Length, 0), (64, 0)]);
        Assert.True(drain.Until(fs => fs.Count(IsNumbered) == 3, Patience), $"after the drops: {Describe(drain.Frames)}");
        Assert.Equal([0, 1, 2], drain.Frames.Where(IsNumbered).Select(Number));
        Assert.Equal(drops, port.Counters(0).ReceiveDrops);
    }

    private static bool IsNumbered(ReceivedFrame f)
    {
        int at = f.EtherType == EtherType.Vlan ? 16 : 12;
        return f.Bytes.Length >= at + 6 && BinaryPrimitives.ReadUInt16BigEndian(f.Bytes.AsSpan(at)) == AfPacketLab.NumberedEtherType;
    }

    private static int Number(ReceivedFrame f) =>
        (int)BinaryPrimitives.ReadUInt32BigEndian(f.Bytes.AsSpan(f.EtherType == EtherType.Vlan ? 18 : 14));

    [SkippableFact]
    public void Bursts_of_one_frame_deliver_every_frame_once_in_order()
    {
        RequireLab();
        using var lab = new AfPacketLab();
        using AfPacketPort port = AfPacketPort.Open("p0", lab.Interface);
        var pool = new BufferPool(1024);
        var cache = new BufferCache(pool);
        port.Start();
        lab.SetPeerNeighbor(port.Mac);

        // One socket sending back to back, read one frame a burst.
        lab.SendUdpFromPeer(100, oneSocket: true);
        // The socket's descriptor is what the worker sleeps on: readable once a slot is ours.
        Assert.Equal(1, port.Descriptor(0).Poll(PollEvents.In, (int)Patience.TotalMilliseconds));
        var sequence = new List<int>();
        var one = new PacketBuffer[1];
        var clock = Stopwatch.StartNew();
        while (sequence.Count < 100 && clock.Elapsed < Patience)
        {
            if (port.Queue(0, cache).Receive(one) == 0)
            {
                Thread.Sleep(1);
                continue;
            }
            ReceivedFrame f = ReceivedFrame.Copy(pool, 0, one[0]);
            cache.Release(one[0]);
            if (IsUdpToDiscard(f))
                sequence.Add(int.Parse(System.Text.Encoding.ASCII.GetString(f.Bytes.AsSpan(42)).AsSpan(4), System.Globalization.CultureInfo.InvariantCulture));
        }
        Assert.Equal(Enumerable.Range(0, 100), sequence);
    }

    [SkippableFact]
    public void Receiving_and_transmitting_allocate_nothing_on_the_managed_heap()
    {
        RequireLab();
        using var lab = new AfPacketLab();
        using AfPacketPort port = AfPacketPort.Open("p0", lab.Interface);
        var pool = new BufferPool(1024);
        var cache = new BufferCache(pool);
        port.Start();
        lab.SetPeerNeighbor(port.Mac);
        AfPacketQueue queue = port.Queue(0, cache);
        var burst = new PacketBuffer[32];

        // Each window takes in the datagrams the peer sent just before it (unmeasured) and sends every
        // frame back out as it came (the peer drops them: they are addressed to us). Waiting for them
        // is part of the window and allocates nothing; asserts (which may) come after.
        const int Datagrams = 500, Windows = 3;
        long[] moved = new long[1 + Windows];
        int window = 0;
        long allocated = Allocations.Least(Windows, () =>
        {
            long start = Stopwatch.GetTimestamp();
            while (moved[window] < Datagrams && Stopwatch.GetElapsedTime(start) < Patience)
            {
                int n = queue.Receive(burst);
                int sent = queue.Transmit(burst.AsSpan(0, n));
                cache.Release(burst.AsSpan(sent, n - sent));
                moved[window] += n;
                if (n == 0)
                    Thread.Sleep(1);
            }
            window++;
        }, prepare: () => lab.SendUdpFromPeer(Datagrams, oneSocket: true));

        Assert.True(moved.All(m => m >= Datagrams), $"frames moved per window: {string.Join(", ", moved)} of {Datagrams} sent");
        Assert.Equal(0, allocated);
        Assert.Equal(port.Counters(0).ReceivedPackets, port.Counters(0).TransmittedPackets);
        Assert.Equal(0, port.Counters(0).Errors);
        Assert.Equal(pool.Count, pool.Shared.Count + cache.Count); // every buffer came back
    }

    [SkippableFact]
    public void A_frame_with_no_buffer_is_dropped_and_counted_and_the_queue_recovers()
    {
        RequireLab();
        using var lab = new AfPacketLab();
        using AfPacketPort port = AfPacketPort.Open("p0", lab.Interface);
        var pool = new BufferPool(8);
        var cache = new BufferCache(pool, size: 8, burst: 4);
        port.Start();
        lab.SetPeerNeighbor(port.Mac);
        long before = SettledPeerCount(lab, new QueueDrain(port, cache));

        lab.SendUdpFromPeer(20);
        long sent = lab.PeerTransmittedPackets() - before; // all of it: the sender has exited
        var held = new List<PacketBuffer>();
        var burst = new PacketBuffer[32];
        // Take frames in and keep them (the pool runs dry) until every frame the peer sent is held
        // or counted as a drop; then nothing more comes.
        bool accounted = LinuxLab.Until(() =>
        {
            int n = port.Queue(0, cache).Receive(burst);
            held.AddRange(burst.AsSpan(0, n).ToArray());
            return held.Count + port.Counters(0).ReceiveDrops >= sent;
        }, Patience);
        Assert.True(accounted, $"the peer sent {sent}, {held.Count} held and {port.Counters(0).ReceiveDrops} dropped after {Patience}");
        Assert.Equal(0, port.Queue(0, cache).Receive(burst));
        Assert.Equal(8, held.Count);
        Assert.Equal(sent, held.Count + port.Counters(0).ReceiveDrops);

        foreach (PacketBuffer b in held)
            cache.Release(b);
        var drain = new QueueDrain(port, cache);
        lab.SendUdpFromPeer(1);
        Assert.True(drain.Until(fs => fs.Any(IsUdpToDiscard), Patience), "nothing arrived after the buffers came back");
    }

    [SkippableFact]
    public void Frames_the_kernel_drops_on_a_full_ring_are_counted_as_receive_drops()
    {
        RequireLab();
        using var lab = new AfPacketLab();
        using AfPacketPort port = AfPacketPort.Open("p0", lab.Interface);
        var pool = new BufferPool(1024);
        var drain = new QueueDrain(port, new BufferCache(pool));
        port.Start();
        lab.SetPeerNeighbor(port.Mac);
        long before = SettledPeerCount(lab, drain);
        long receivedBefore = port.Counters(0).ReceivedPackets;

        // Nobody reads while the peer sends 50 000 frames: the ring's 4,096 slots fill and the
        // kernel drops the rest (tp_drops).
        lab.SendUdpFromPeer(50_000, oneSocket: true);
        drain.UntilQuiet(TimeSpan.FromMilliseconds(500), Patience);
        // The next slot the kernel fills carries TP_STATUS_LOSING; reading it folds PACKET_STATISTICS in.
        // Ten datagrams to another port close the count: the ring keeps the order frames came in,
        // so once the tenth is in, every frame the peer sent before it was taken or dropped.
        lab.SendUdpFromPeer(10, port: Marker, oneSocket: true);
        Assert.True(drain.Until(fs => fs.Count(f => IsUdpTo(f, Marker)) == 10, Patience), $"the ten closing datagrams did not arrive: {Describe(drain.Frames.TakeLast(20))}");
        long sent = lab.PeerTransmittedPackets() - before;
        long received = port.Counters(0).ReceivedPackets - receivedBefore;
        Assert.True(port.Counters(0).ReceiveDrops > 0, $"no drops counted: sent {sent}, received {received}");
        port.Stop(); // folds whatever is left
        Assert.Equal(sent, received + port.Counters(0).ReceiveDrops);
    }

    [SkippableFact]
    public void Opening_without_CAP_NET_RAW_names_the_port_the_interface_and_the_capability()
    {
        RequireLab();
        using var lab = new AfPacketLab();
        Exception? failure = null;
        // Capabilities belong to a thread: drop CAP_NET_RAW from the effective set of a thread of
        // our own, which ends with the test, and open the port there.
        var thread = new Thread(() =>
        {
            try
            {
                Capabilities.DropEffective(Capabilities.NetRaw);
                AfPacketPort.Open("p7", lab.Interface, queues: 2).Dispose();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();

        NativeException e = Assert.IsType<NativeException>(failure);
        Assert.StartsWith($"port p7: afpacket on interface {lab.Interface}: socket(AF_PACKET, SOCK_RAW): EPERM", e.Message, StringComparison.Ordinal);
        Assert.Contains("CAP_NET_RAW", e.Message, StringComparison.Ordinal);
        Assert.Equal(Errno.EPERM, Assert.IsType<NativeException>(e.InnerException).Errno.Number);
        Assert.Equal(0, PacketSocketsBoundTo(LinkControl.IndexOf(lab.Interface)));
    }

    [SkippableFact]
    public void Opening_a_missing_interface_names_the_port_and_the_interface()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "needs Linux");
        string name = $"dpa{Environment.ProcessId}x";

        var e = Assert.Throws<NativeException>(() => AfPacketPort.Open("p9", name, queues: 2));

        Assert.Equal($"port p9: afpacket on interface {name}: no such interface in this network namespace", e.Message);
    }

    [SkippableFact]
    public void A_port_that_fails_half_way_closes_every_socket_it_opened()
    {
        RequireLab();
        using var lab = new AfPacketLab();
        int index = LinkControl.IndexOf(lab.Interface);
        // Every fanout group id the port would try is taken by a group of another mode on the
        // interface, so it fails after both queues' sockets are open, mapped and bound.
        var blockers = new List<PacketSocket>();
        try
        {
            ushort first = AfPacketPort.FirstFanoutGroup(index);
            for (int i = 0; i < AfPacketPort.FanoutAttempts; i++)
            {
                var blocker = PacketSocket.Open();
                blockers.Add(blocker);
                blocker.Bind(index);
                blocker.JoinFanout(unchecked((ushort)(first + i)), PacketFanoutMode.LoadBalance, PacketFanoutFlags.None);
            }

            var e = Assert.Throws<NativeException>(() => AfPacketPort.Open("p6", lab.Interface, queues: 2));

            Assert.StartsWith($"port p6: afpacket on interface {lab.Interface}: setsockopt(SOL_PACKET, PACKET_FANOUT): EINVAL", e.Message, StringComparison.Ordinal);
            Assert.Equal(blockers.Count, PacketSocketsBoundTo(index)); // the blockers, and nothing of the port's
            Assert.Equal(0, Convert.ToInt32(LinuxLab.Run("cat", $"/sys/class/net/{lab.Interface}/flags").Trim(), 16) & (int)InterfaceFlags.Promiscuous);
        }
        finally
        {
            foreach (PacketSocket blocker in blockers)
                blocker.Dispose();
        }
    }

    [SkippableFact]
    public void Opening_an_interface_that_is_not_ethernet_is_refused_by_name()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "needs Linux");
        var e = Assert.Throws<NativeException>(() => AfPacketPort.Open("p8", "lo"));
        Assert.StartsWith("port p8: afpacket on interface lo: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("not Ethernet", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Waits until the peer has sent nothing for 1.5 s, draining our queues meanwhile; returns its transmit count.</summary>
    private static long SettledPeerCount(AfPacketLab lab, QueueDrain drain)
    {
        long last = lab.PeerTransmittedPackets();
        var clock = Stopwatch.StartNew();
        var quiet = Stopwatch.StartNew();
        while (quiet.Elapsed < TimeSpan.FromSeconds(1.5) && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            drain.UntilQuiet(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1));
            long now = lab.PeerTransmittedPackets();
            if (now != last)
            {
                last = now;
                quiet.Restart();
            }
        }
        // No drain after the last read: a frame taken in now would be counted by us and not in the
        // peer's count returned.
        return last;
    }

    private static string Describe(IEnumerable<ReceivedFrame> frames) =>
        string.Join(", ", frames.GroupBy(f => $"{f.EtherType} {f.Metadata.PacketLength} q{f.Queue} {Convert.ToHexString(f.Bytes.AsSpan(0, Math.Min(f.Bytes.Length, 60)))}")
            .Select(g => $"{g.Count()} x {g.Key}"));

    /// <summary>Packet sockets of this namespace bound to interface <paramref name="index"/>, from /proc/net/packet (its Iface column).</summary>
    private static int PacketSocketsBoundTo(int index) =>
        File.ReadAllLines("/proc/net/packet").Skip(1)
            .Count(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries) is { Length: > 4 } columns
                && columns[4] == index.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static ReceivedFrame SendOneDatagram(AfPacketLab lab, QueueDrain drain)
    {
        drain.Frames.Clear();
        lab.SendUdpFromPeer(1);
        Assert.True(drain.Until(fs => fs.Any(IsUdpToDiscard), Patience), "the datagram did not arrive");
        return drain.Frames.First(IsUdpToDiscard);
    }

    private static bool IsUdpToDiscard(ReceivedFrame f) => IsUdpTo(f, 9);

    internal static bool IsUdpTo(ReceivedFrame f, int port) =>
        f.EtherType == EtherType.Ipv4
        && Ipv4Packet.TryCreate(f.Bytes.AsSpan(14), out Ipv4Packet ip) && ip.Protocol == IpProtocol.Udp
        && UdpDatagram.TryCreate(ip.Payload, out UdpDatagram udp) && udp.DestinationPort == port;

    internal static bool VerifyUdp(byte[] frame)
    {
        Assert.True(Ipv4Packet.TryCreate(frame.AsSpan(14), out Ipv4Packet ip));
        Assert.True(UdpDatagram.TryCreate(ip.Payload, out UdpDatagram udp));
        return udp.VerifyChecksum(ip.Source, ip.Destination);
    }

    private static void WaitUntilListening(Process tcpdump)
    {
        // tcpdump says "listening on IFACE" on standard error once its capture is open.
        Task<string?> line = tcpdump.StandardError.ReadLineAsync();
        Assert.True(line.Wait(Patience) && line.Result?.Contains("listening", StringComparison.Ordinal) == true, "tcpdump did not start");
    }

    /// <summary>
    /// Plays 10.67.0.1 on queue 0 until <paramref name="until"/> holds: answers ARP requests for it
    /// and ICMP echo requests to it with frames built by Dataplane.Wire. Returns how many it sent.
    /// </summary>
    private static int Respond(AfPacketPort port, BufferCache cache, Func<bool> until, List<ReceivedFrame>? seen = null)
    {
        AfPacketQueue queue = port.Queue(0, cache);
        var burst = new PacketBuffer[32];
        int answered = 0;
        var clock = Stopwatch.StartNew();
        while (!until() && clock.Elapsed < Patience)
        {
            int n = queue.Receive(burst);
            for (int i = 0; i < n; i++)
            {
                ReceivedFrame request = ReceivedFrame.Copy(cache.Pool, 0, burst[i]);
                cache.Release(burst[i]);
                seen?.Add(request);
                byte[]? reply = Answer(request.Bytes, port.Mac);
                if (reply is null)
                    continue;
                var writer = new BufferChainWriter(cache);
                Assert.True(writer.TryStart() && writer.TryWrite(reply));
                writer.Finish();
                Assert.Equal(1, queue.Transmit([writer.Head]));
                answered++;
            }
            if (n == 0)
                Thread.Sleep(1);
        }
        return answered;
    }

    internal static byte[]? Answer(byte[] frame, MacAddress mac)
    {
        if (!EthernetFrame.TryCreate(frame, out EthernetFrame eth))
            return null;
        if (eth.EtherType == EtherType.Arp && ArpPacket.Repr.TryParse(eth.Payload, out ArpPacket.Repr arp)
            && arp.Operation == ArpOperation.Request && arp.TargetProtocolAddress == AfPacketLab.Local)
        {
            var reply = new byte[60]; // padded to the Ethernet minimum, as a NIC would
            new EthernetFrame.Repr { Destination = arp.SenderHardwareAddress, Source = mac, EtherType = EtherType.Arp }.Emit(reply);
            new ArpPacket.Repr
            {
                Operation = ArpOperation.Reply,
                SenderHardwareAddress = mac,
                SenderProtocolAddress = AfPacketLab.Local,
                TargetHardwareAddress = arp.SenderHardwareAddress,
                TargetProtocolAddress = arp.SenderProtocolAddress,
            }.Emit(reply.AsSpan(EthernetFrame.FixedLength));
            return reply;
        }
        if (eth.EtherType == EtherType.Ipv4 && Ipv4Packet.TryCreate(eth.Payload, out Ipv4Packet ip)
            && ip.Destination == AfPacketLab.Local && ip.Protocol == IpProtocol.Icmp
            && Icmpv4Echo.TryCreate(ip.Payload, out Icmpv4Echo echo) && echo.Type == Icmpv4Type.EchoRequest)
        {
            int icmpLength = ip.Payload.Length;
            var reply = new byte[EthernetFrame.FixedLength + Ipv4Packet.FixedLength + icmpLength];
            new EthernetFrame.Repr { Destination = eth.Source, Source = mac, EtherType = EtherType.Ipv4 }.Emit(reply);
            Span<byte> packet = reply.AsSpan(EthernetFrame.FixedLength);
            new Ipv4Packet.Repr
            {
                Ihl = 5,
                TotalLength = (ushort)(Ipv4Packet.FixedLength + icmpLength),
                Identification = ip.Identification,
                TimeToLive = 64,
                Protocol = IpProtocol.Icmp,
                Source = AfPacketLab.Local,
                Destination = ip.Source,
            }.Emit(packet);
            Span<byte> icmp = packet[Ipv4Packet.FixedLength..];
            ip.Payload.CopyTo(icmp); // identifier, sequence number and data come back as they went
            Assert.True(Icmpv4Echo.TryCreate(icmp, out Icmpv4Echo answer));
            answer.Type = Icmpv4Type.EchoReply;
            answer.FillChecksum();
            return reply;
        }
        return null;
    }
}

/// <summary>capget(2) / capset(2) on the calling thread, to take a capability away from it.</summary>
internal static class Capabilities
{
    /// <summary>CAP_NET_RAW (<c>linux/capability.h</c>).</summary>
    public const int NetRaw = 13;

    private const uint Version3 = 0x20080522; // _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct Header
    {
        public uint Version;
        public int Pid;
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct Data
    {
        public uint Effective;
        public uint Permitted;
        public uint Inheritable;
    }

    /// <summary>Clears <paramref name="capability"/> from the calling thread's effective set.</summary>
    public static void DropEffective(int capability)
    {
        var header = new Header { Version = Version3 };
        var data = new Data[2];
        if (capget(ref header, data) != 0)
            throw new InvalidOperationException($"capget: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        data[capability / 32].Effective &= ~(1u << (capability % 32));
        if (capset(ref header, data) != 0)
            throw new InvalidOperationException($"capset: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
    }

    [System.Runtime.InteropServices.DllImport("libc.so.6", SetLastError = true)]
    private static extern int capget(ref Header header, [System.Runtime.InteropServices.In, System.Runtime.InteropServices.Out] Data[] data);

    [System.Runtime.InteropServices.DllImport("libc.so.6", SetLastError = true)]
    private static extern int capset(ref Header header, [System.Runtime.InteropServices.In] Data[] data);
}
