using System.Diagnostics;
using Dataplane.Buffers;
using Dataplane.Drivers.AfPacket;
using Dataplane.Drivers.AfXdp;
using Dataplane.Native;
using Dataplane.Ports;
using Dataplane.Tests.Stack;
using Dataplane.Wire;

namespace Dataplane.Tests.Drivers;

/// <summary>
/// The afxdp driver against a Linux peer in a network namespace (an <see cref="AfPacketLab"/> of
/// its own, names starting <c>dpx</c>, the veth made with two queues each way): frames the peer's
/// stack sends arrive with their metadata on both queues, frames we build answer the peer's ARP and
/// ping, drops are counted, nothing is allocated per frame, and a port that cannot open leaves no
/// program and no socket behind. One class, so the tests run one after the other in the one lab
/// name this process may use.
/// </summary>
[Trait("Category", "Linux")]
public class AfXdpPortTests
{
    /// <summary>The bound of every wait for the kernel or a peer tool: a safety net, generous for a loaded machine.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private const string Prefix = "dpx";

    /// <summary>The chunk size of the sockets the tests make themselves (a page, aligned mode).</summary>
    private const uint TestChunk = 4096;

    private static void RequireLab()
    {
        string? reason = AfPacketLab.CannotRunBecause();
        Skip.If(reason is not null, reason);
    }

    [Fact]
    public void The_generated_path_reads_no_offload_flag_of_an_XDP_frame()
    {
        // [PacketPath("afxdp", ... Never)]: the stack verifies every checksum, hashes every frame and
        // takes every frame for one packet, whatever stale flag a buffer might carry.
        Assert.Equal(OffloadReport.Never, AfXdpQueuePath.Facts.Checksum);
        Assert.Equal(OffloadReport.Never, AfXdpQueuePath.Facts.RssHash);
        Assert.Equal(OffloadReport.Never, AfXdpQueuePath.Facts.Lro);
        var stale = new BufferMetadata { Offload = OffloadFlags.L4ChecksumVerified | OffloadFlags.Ipv4ChecksumVerified, Gso = GsoType.TcpV4 };
        Assert.Equal(OffloadFlags.None, Dataplane.Engine.ReceiveFacts.ChecksumState<AfXdpQueuePath.Facts>(stale));
        Assert.False(Dataplane.Engine.ReceiveFacts.MayBeSuperFrame<AfXdpQueuePath.Facts>(stale));
    }

    [SkippableFact]
    public void Frames_the_peer_sends_arrive_once_across_two_queues_with_their_metadata()
    {
        RequireLab();
        using var lab = new AfPacketLab(queues: 2, prefix: Prefix);
        using AfXdpPort port = AfXdpPort.Open("p0", lab.Interface, queues: 2, portIndex: 3);
        var pool = new BufferPool(4096);
        var drain = new QueueDrain(port, new BufferCache(pool));
        port.Start();

        Assert.Equal("afxdp", port.Driver);
        Assert.Equal(2, port.QueueCount);
        // veth has native XDP and no zero copy.
        Assert.Equal("native, copy", port.Mode);
        Assert.Matches(@"mtu \d+ xdp qdisc", LinuxLab.Run("ip", "-d", "link", "show", "dev", lab.Interface));
        Assert.True(LinuxLab.Until(() => port.LinkUp, TimeSpan.FromSeconds(10)), "the link never came up");
        Assert.Equal(PortCapabilities.MultiQueue, port.Capabilities);
        Assert.Equal(1500, port.Mtu);
        Assert.Equal(LinuxLab.Run("cat", $"/sys/class/net/{lab.Interface}/address").Trim(), port.Mac.ToString());

        long before = SettledPeerCount(lab, drain);
        long countedBefore = port.Counters(0).ReceivedPackets + port.Counters(1).ReceivedPackets;
        drain.Frames.Clear();

        // Nobody answers ARP for 10.67.0.1: the peer's ping only sends ARP requests.
        lab.TryInPeer("ping", "-c", "3", "-i", "0.3", "-W", "1", AfPacketLab.Local.ToString());
        // With the neighbour set, 64 datagrams from 64 source ports: 64 flows, spread over the
        // peer's two transmit queues, which are our two receive queues.
        lab.SetPeerNeighbor(port.Mac);
        lab.SendUdpFromPeer(64);
        long sent = SettledPeerCount(lab, drain) - before;

        List<ReceivedFrame> frames = drain.Frames;
        Assert.True(sent == frames.Count, $"the peer sent {sent}, the queues got {frames.Count}");
        Assert.Equal(frames.Count, port.Counters(0).ReceivedPackets + port.Counters(1).ReceivedPackets - countedBefore);
        Assert.Equal(0, port.Counters(0).ReceiveDrops + port.Counters(1).ReceiveDrops);
        Assert.All(frames, f =>
        {
            Assert.Equal(3, f.Metadata.Port);
            Assert.Equal(f.Queue, f.Metadata.Queue);
            Assert.Equal(f.Bytes.Length, f.Metadata.PacketLength);
            Assert.True(f.Metadata.Timestamp > 0, "no timestamp");
            Assert.Equal(OffloadFlags.None, f.Metadata.Offload); // no checksum state, no hash, no super-frame
            Assert.Equal(1, f.Metadata.Segments);
        });
        ReceivedFrame[] arp = [.. frames.Where(f => f.EtherType == EtherType.Arp)];
        Assert.NotEmpty(arp);
        Assert.All(arp, f => Assert.Equal(42, f.Metadata.PacketLength)); // veth does not pad to 60
        ReceivedFrame[] udp = [.. frames.Where(f => AfPacketPortTests.IsUdpTo(f, 9))];
        Assert.Equal(64, udp.Length);
        Assert.Contains(udp, f => f.Queue == 0);
        Assert.Contains(udp, f => f.Queue == 1);
    }

    [SkippableFact]
    public void Frames_we_build_answer_the_peers_arp_and_ping()
    {
        RequireLab();
        using var lab = new AfPacketLab(prefix: Prefix);
        using AfXdpPort port = AfXdpPort.Open("p0", lab.Interface);
        var pool = new BufferPool(1024);
        var cache = new BufferCache(pool);
        port.Start();

        Process ping = lab.StartInPeer("ping", "-c", "3", "-i", "0.2", "-W", "1", AfPacketLab.Local.ToString());
        int answered = Respond(port, cache, until: () => ping.HasExited);
        Assert.True(ping.WaitForExit(Patience), "ping did not end");
        string pingOutput = ping.StandardOutput.ReadToEnd();
        Assert.True(ping.ExitCode == 0, $"ping failed: {pingOutput}{ping.StandardError.ReadToEnd()}");
        Assert.Contains("3 received", pingOutput, StringComparison.Ordinal);
        Assert.True(answered >= 4, $"answered {answered}");
        Assert.Equal(answered, port.Counters(0).TransmittedPackets);
        Assert.Equal(0, port.Counters(0).Errors);
        // Every buffer sent came back on the completion ring, and to the pool.
        Assert.True(LinuxLab.Until(() => port.TransmitInFlight(0) == 0, Patience), "sent buffers did not come back");
        Assert.Equal(pool.Count, pool.Shared.Count + cache.Count + port.HeldBuffers(0));
        Assert.Equal(0ul, port.KernelStatistics(0).TxInvalidDescriptors);
    }

    [SkippableFact]
    public void A_frame_longer_than_a_buffer_is_counted_as_an_error_and_not_sent()
    {
        RequireLab();
        using var lab = new AfPacketLab(prefix: Prefix);
        using AfXdpPort port = AfXdpPort.Open("p0", lab.Interface);
        var pool = new BufferPool(64);
        var cache = new BufferCache(pool);
        port.Start();
        AfXdpQueue queue = port.Queue(0, cache);

        var writer = new BufferChainWriter(cache);
        Assert.True(writer.TryStart() && writer.TryWrite(new byte[pool.DataRoom + 1])); // a chain of two
        writer.Finish();
        Assert.Equal(1, queue.Transmit([writer.Head])); // taken, released and counted
        Assert.Equal(1, port.Counters(0).Errors);
        Assert.Equal(0, port.Counters(0).TransmittedPackets);
        Assert.Equal(pool.Count, pool.Shared.Count + cache.Count + port.HeldBuffers(0));
    }

    [SkippableFact]
    public void A_full_transmit_ring_takes_fewer_and_drains_once_the_interface_is_back()
    {
        RequireLab();
        using var lab = new AfPacketLab(prefix: Prefix);
        using AfXdpPort port = AfXdpPort.Open("p0", lab.Interface);
        var pool = new BufferPool(2048);
        var cache = new BufferCache(pool);
        port.Start();
        AfXdpQueue queue = port.Queue(0, cache);
        long peerBefore = PeerReceivedPackets(lab);

        // Down, the interface sends nothing: a kick answers ENETDOWN and the frames stay on the
        // ring, so the ring fills, and a burst is taken only in part.
        LinuxLab.Run("ip", "link", "set", "dev", lab.Interface, "down");
        byte[] frame = new byte[60];
        lab.PeerMac().CopyTo(frame);
        port.Mac.CopyTo(frame.AsSpan(6));
        frame[12] = 0x88;
        frame[13] = 0xb5;
        var burst = new PacketBuffer[32];
        int taken = 0, refused = 0;
        for (int round = 0; round < 40; round++)
        {
            for (int i = 0; i < burst.Length; i++)
            {
                var writer = new BufferChainWriter(cache);
                Assert.True(writer.TryStart() && writer.TryWrite(frame));
                writer.Finish();
                burst[i] = writer.Head;
            }
            int n = queue.Transmit(burst);
            taken += n;
            refused += burst.Length - n;
            cache.Release(burst.AsSpan(n));
        }
        Assert.Equal((int)AfXdpChannel.RingSize, taken); // the ring holds 1024, the rest stayed ours
        Assert.Equal(40 * 32 - taken, refused);
        Assert.Equal((int)AfXdpChannel.RingSize, port.TransmitInFlight(0)); // the frames' own buffers, no copies
        Assert.Equal(0, port.Counters(0).Errors); // ENETDOWN is passing, not an error

        // Up again: the next receive's kick sends what waited, and every buffer comes back.
        LinuxLab.Run("ip", "link", "set", "dev", lab.Interface, "up");
        Assert.True(LinuxLab.Until(() =>
        {
            queue.Receive(burst.AsSpan(0, 0));
            return port.TransmitInFlight(0) == 0;
        }, Patience), $"{port.TransmitInFlight(0)} buffers still sent");
        Assert.True(LinuxLab.Until(() => PeerReceivedPackets(lab) - peerBefore >= taken, Patience), $"the peer got {PeerReceivedPackets(lab) - peerBefore} of {taken}");
        Assert.Equal(pool.Count, pool.Shared.Count + cache.Count + port.HeldBuffers(0));
        Assert.Equal(0, port.Counters(0).Errors);
    }

    [SkippableFact]
    public void Receiving_and_transmitting_allocate_nothing_on_the_managed_heap()
    {
        RequireLab();
        using var lab = new AfPacketLab(prefix: Prefix);
        using AfXdpPort port = AfXdpPort.Open("p0", lab.Interface);
        var pool = new BufferPool(8192); // a fill ring of 1024: every datagram of a window finds a buffer
        var cache = new BufferCache(pool);
        port.Start();
        lab.SetPeerNeighbor(port.Mac);
        AfXdpQueue queue = port.Queue(0, cache);
        var burst = new PacketBuffer[32];

        // Each window takes in the datagrams the peer sent just before it and sends every frame back
        // out as it came (the peer drops them: they are addressed to us).
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
        Assert.True(LinuxLab.Until(() => port.TransmitInFlight(0) == 0, Patience), "sent buffers did not come back");
        Assert.Equal(pool.Count, pool.Shared.Count + cache.Count + port.HeldBuffers(0)); // every buffer came back
    }

    [SkippableFact]
    public void A_frame_with_no_buffer_is_dropped_and_counted_and_the_queue_recovers()
    {
        RequireLab();
        using var lab = new AfPacketLab(prefix: Prefix);
        using AfXdpPort port = AfXdpPort.Open("p0", lab.Interface);
        var pool = new BufferPool(8);
        var cache = new BufferCache(pool, size: 8, burst: 4);
        port.Start();
        lab.SetPeerNeighbor(port.Mac);
        long before = SettledPeerCount(lab, new QueueDrain(port, cache));
        // The fill ring holds what a pool this small spares: a quarter, two buffers.
        Assert.Equal(2, port.HeldBuffers(0));

        // Every frame that arrives is held, so the pool runs dry and the fill ring empty: the
        // kernel drops what finds no buffer (rx_dropped), and the port counts it.
        lab.SendUdpFromPeer(20);
        long sent = lab.PeerTransmittedPackets() - before;
        var held = new List<PacketBuffer>();
        var burst = new PacketBuffer[32];
        bool accounted = LinuxLab.Until(() =>
        {
            int n = port.Queue(0, cache).Receive(burst);
            held.AddRange(burst.AsSpan(0, n).ToArray());
            return held.Count + (long)port.KernelStatistics(0).RxDropped >= sent;
        }, Patience);
        Assert.True(accounted, $"the peer sent {sent}, {held.Count} held and {port.KernelStatistics(0).RxDropped} dropped after {Patience}");
        Assert.Equal(0, port.Queue(0, cache).Receive(burst));
        Assert.InRange(held.Count, 1, 8);
        port.Stop(); // folds the kernel's drops into the counters
        Assert.Equal(sent, held.Count + port.Counters(0).ReceiveDrops);

        port.Start();
        foreach (PacketBuffer b in held)
            cache.Release(b);
        var drain = new QueueDrain(port, cache);
        lab.SendUdpFromPeer(1);
        Assert.True(drain.Until(fs => fs.Any(f => AfPacketPortTests.IsUdpTo(f, 9)), Patience), "nothing arrived after the buffers came back");
    }

    [SkippableFact]
    public void While_the_program_runs_the_peer_sends_no_super_frames()
    {
        RequireLab();
        using var lab = new AfPacketLab(prefix: Prefix);
        // The peer's veth starts with TSO and GSO on, as a user's has.
        lab.InPeer("ethtool", "-K", lab.PeerInterface, "tso", "on", "gso", "on");
        using AfXdpPort port = AfXdpPort.Open("p0", lab.Interface);
        // veth.c, veth_xdp_set / veth_fix_features: a program without multi-buffer on our end takes
        // the software GSO features from the peer, so what it sends fits a page.
        string features = lab.InPeer("ethtool", "-k", lab.PeerInterface);
        // TSO (and UDP segmentation) are taken away; GSO stays, and with nothing below to segment,
        // the peer's stack cuts its super-frames to the MTU before they reach the veth.
        Assert.Matches(@"tcp-segmentation-offload: off", features);
        Assert.Matches(@"tx-udp-segmentation: off", features);
    }

    [SkippableFact]
    public void A_peer_with_checksum_offload_on_reaches_XDP_with_a_partial_checksum_and_one_without_with_a_whole_one()
    {
        RequireLab();
        using var lab = new AfPacketLab(prefix: Prefix);
        using AfXdpPort port = AfXdpPort.Open("p0", lab.Interface);
        var drain = new QueueDrain(port, new BufferCache(new BufferPool(256)));
        port.Start();
        lab.SetPeerNeighbor(port.Mac);

        // A veth peer's stack leaves the UDP checksum to "hardware" (CHECKSUM_PARTIAL); XDP has no
        // skb to carry that, so the frame comes with only the pseudo-header's sum in the field,
        // and the driver can only say nothing (Checksum = Never): the stack finds it bad. Frames off
        // a wire have whole checksums; the lab's hosts switch tx checksumming off to send those.
        lab.InPeer("ethtool", "-K", lab.PeerInterface, "tx", "on");
        lab.SendUdpFromPeer(1);
        Assert.True(drain.Until(fs => fs.Any(f => AfPacketPortTests.IsUdpTo(f, 9)), Patience), "the datagram did not arrive");
        Assert.False(AfPacketPortTests.VerifyUdp(drain.Frames.First(f => AfPacketPortTests.IsUdpTo(f, 9)).Bytes));

        drain.Frames.Clear();
        lab.InPeer("ethtool", "-K", lab.PeerInterface, "tx", "off");
        lab.SendUdpFromPeer(1);
        Assert.True(drain.Until(fs => fs.Any(f => AfPacketPortTests.IsUdpTo(f, 9)), Patience), "the datagram did not arrive");
        Assert.True(AfPacketPortTests.VerifyUdp(drain.Frames.First(f => AfPacketPortTests.IsUdpTo(f, 9)).Bytes));
    }

    [SkippableFact]
    public void A_jumbo_mtu_takes_the_program_to_generic_mode_and_frames_past_a_chunk_are_counted_as_drops()
    {
        RequireLab();
        using var lab = new AfPacketLab(mtu: 9000, prefix: Prefix);
        var said = new List<string>();
        using AfXdpPort port = AfXdpPort.Open("p0", lab.Interface, log: said.Add);
        var drain = new QueueDrain(port, new BufferCache(new BufferPool(256)));
        port.Start();
        lab.SetPeerNeighbor(port.Mac);

        // veth.c, veth_xdp_set: native XDP without multi-buffer wants the peer's frames to fit a
        // page (ERANGE, "Peer MTU is too large to set XDP"); the port falls back and says so.
        Assert.Equal("generic, copy", port.Mode);
        Assert.Contains(said, m => m.Contains("native XDP refused (ERANGE", StringComparison.Ordinal) && m.Contains(lab.Interface, StringComparison.Ordinal));
        Assert.Matches(@"mtu \d+ xdpgeneric qdisc", LinuxLab.Run("ip", "-d", "link", "show", "dev", lab.Interface));

        // A 5,042-byte frame does not fit a buffer (2,048 bytes after the headroom): the kernel drops it (rx_dropped),
        // and the port counts it; one that fits still comes.
        lab.InPeer("python3", "-c", $"import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.sendto(b'x' * 5000, ('{AfPacketLab.Local}', 9))");
        lab.SendUdpFromPeer(1);
        Assert.True(drain.Until(fs => fs.Any(f => AfPacketPortTests.IsUdpTo(f, 9)), Patience), "the small datagram did not arrive");
        Assert.DoesNotContain(drain.Frames, f => f.Bytes.Length > BufferPool.DefaultDataRoom);
        port.Stop();
        Assert.Equal(1, port.Counters(0).ReceiveDrops);
        Assert.Equal(1ul, port.KernelStatistics(0).RxDropped);
    }

    [SkippableFact]
    public void A_tagged_frame_arrives_with_its_VLAN_tag_in_place()
    {
        RequireLab();
        using var lab = new AfPacketLab(prefix: Prefix);
        using AfXdpPort port = AfXdpPort.Open("p0", lab.Interface);
        var drain = new QueueDrain(port, new BufferCache(new BufferPool(256)));
        port.Start();

        // Native XDP runs before the receive path takes a tag out of the frame: it comes as sent.
        var frame = new byte[64];
        port.Mac.CopyTo(frame);
        lab.PeerMac().CopyTo(frame.AsSpan(6));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), (ushort)EtherType.Vlan);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(14), 5 << 13 | 11);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(16), 0x88b5);
        System.Text.Encoding.ASCII.GetBytes("dataplane-vlan").CopyTo(frame, 18);
        lab.SendRawFromPeer(frame);

        Assert.True(drain.Until(fs => fs.Any(f => f.EtherType == EtherType.Vlan), Patience), "no tagged frame arrived");
        Assert.Equal(Convert.ToHexString(frame), Convert.ToHexString(drain.Frames.First(f => f.EtherType == EtherType.Vlan).Bytes));
    }

    [SkippableFact]
    public void Opening_a_missing_interface_names_the_port_and_the_interface()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "needs Linux");
        string name = $"{Prefix}{Environment.ProcessId}x";

        var e = Assert.Throws<NativeException>(() => AfXdpPort.Open("p9", name, queues: 2));

        Assert.Equal($"port p9: afxdp on interface {name}: no such interface in this network namespace", e.Message);
    }

    [SkippableFact]
    public void Asking_for_more_queues_than_the_interface_has_is_refused_by_name()
    {
        RequireLab();
        using var lab = new AfPacketLab(prefix: Prefix);

        var e = Assert.Throws<NativeException>(() => AfXdpPort.Open("p5", lab.Interface, queues: 3));

        Assert.StartsWith($"port p5: afxdp on interface {lab.Interface}: 3 queues asked for, the interface has 1 receive queue", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("prog/xdp", LinuxLab.Run("ip", "-d", "link", "show", "dev", lab.Interface), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void A_port_whose_queue_fails_to_bind_gives_everything_back_when_disposed()
    {
        RequireLab();
        using var lab = new AfPacketLab(queues: 2, prefix: Prefix);
        int index = LinkControl.IndexOf(lab.Interface);
        // Another socket holds queue 1, so the port's second queue fails to bind, after the program
        // is attached and queue 0's socket is bound, in the map, and holding pool buffers.
        using PinnedMemory umem = HugePages.Allocate(TestChunk * 16, lockMemory: false);
        using XdpSocket blocker = XdpSocket.Open();
        blocker.RegisterUmem(umem, TestChunk);
        blocker.SetRingSize(XdpRingKind.Fill, 16);
        blocker.SetRingSize(XdpRingKind.Completion, 16);
        blocker.SetRingSize(XdpRingKind.Rx, 16);
        blocker.MapRings();
        blocker.Bind(index, 1, XdpBindFlags.Copy);
        int bpf = BpfDescriptors();
        var pool = new BufferPool(256);
        var cache = new BufferCache(pool);

        var port = AfXdpPort.Open("p6", lab.Interface, queues: 2);
        port.Queue(0, cache);
        Assert.Equal(256 / 4, port.HeldBuffers(0)); // the fill rings on a pool hold a quarter of it at most
        var e = Assert.Throws<NativeException>(() => port.Queue(1, cache));
        port.Dispose(); // what the engine's start does when a queue cannot be made

        Assert.StartsWith($"port p6: afxdp on interface {lab.Interface}: queue 1: bind(AF_XDP, ifindex {index}, queue 1", e.Message, StringComparison.Ordinal);
        Assert.Equal(Errno.EBUSY, Assert.IsType<NativeException>(e.InnerException).Errno.Number);
        Assert.Equal(pool.Count, pool.Shared.Count + cache.Count); // queue 0's fill ring came back to the pool
        Assert.DoesNotContain("prog/xdp", LinuxLab.Run("ip", "-d", "link", "show", "dev", lab.Interface), StringComparison.Ordinal);
        Assert.Equal(bpf, BpfDescriptors()); // no map, program or link left open
        // Queue 0's socket is closed: another can take the queue, once the kernel has let go of the
        // closed socket's buffer pool (xsk_release defers that to a work item: for a moment the
        // queue is still EBUSY).
        Assert.True(LinuxLab.Until(() => CanBind(index, 0), TimeSpan.FromSeconds(10)), "queue 0 stayed taken");
    }

    /// <summary>Whether a fresh AF_XDP socket can bind to queue <paramref name="queue"/> of <paramref name="index"/> (then closes it).</summary>
    private static bool CanBind(int index, uint queue)
    {
        using PinnedMemory umem = HugePages.Allocate(TestChunk * 16, lockMemory: false);
        using XdpSocket socket = XdpSocket.Open();
        socket.RegisterUmem(umem, TestChunk);
        socket.SetRingSize(XdpRingKind.Fill, 16);
        socket.SetRingSize(XdpRingKind.Completion, 16);
        socket.SetRingSize(XdpRingKind.Rx, 16);
        socket.MapRings();
        try
        {
            socket.Bind(index, queue, XdpBindFlags.Copy);
            return true;
        }
        catch (NativeException e) when (e.Errno.Number == Errno.EBUSY)
        {
            return false;
        }
    }

    /// <summary>This process's BPF descriptors (maps, programs, links: <c>anon_inode:bpf-*</c>).</summary>
    private static int BpfDescriptors() =>
        new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos().Count(f => f.LinkTarget?.StartsWith("anon_inode:bpf", StringComparison.Ordinal) == true);

    private static long PeerReceivedPackets(AfPacketLab lab)
    {
        using var json = System.Text.Json.JsonDocument.Parse(LinuxLab.Run("ip", "-n", lab.Namespace, "-s", "-j", "link", "show", lab.PeerInterface));
        return json.RootElement[0].GetProperty("stats64").GetProperty("rx").GetProperty("packets").GetInt64();
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
        return last;
    }

    /// <summary>Plays 10.67.0.1 on queue 0 until <paramref name="until"/> holds: answers ARP and echo requests. Returns how many it sent.</summary>
    private static int Respond(AfXdpPort port, BufferCache cache, Func<bool> until)
    {
        AfXdpQueue queue = port.Queue(0, cache);
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
                byte[]? reply = AfPacketPortTests.Answer(request.Bytes, port.Mac);
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
}
