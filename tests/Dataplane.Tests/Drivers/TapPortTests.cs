using System.Globalization;
using System.Runtime.InteropServices;
using Dataplane.Buffers;
using Dataplane.Drivers;
using Dataplane.Drivers.Tap;
using Dataplane.Engine;
using Dataplane.Native;
using Dataplane.Ports;
using Dataplane.Wire;

namespace Dataplane.Tests.Drivers;

/// <summary>
/// The tap driver against the kernel: opening, the control side, both directions with a host in a
/// network namespace, buffer exhaustion, and the errors of opening. Root tests make their own taps
/// and namespaces (<see cref="TapLab"/>) and remove them.
/// </summary>
[Trait("Category", "Linux")]
public class TapPortTests
{
    /// <summary>The bound of every wait for the kernel or a tool: a safety net, generous for a loaded machine.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    [InlineData(true, false)] // set tso on, lro off: the stack writes super-frames, the kernel hands up none
    [InlineData(false, true)]
    public void Opening_makes_a_multi_queue_tap_with_vnet_headers_and_the_asked_offloads_and_brings_it_up(bool tso, bool? lro = null)
    {
        bool receives = lro ?? tso; // TUN_F_TSO4/6: what the host's stack may send the tap
        TapLab.RequireRoot();
        string name = TapLab.UniqueName('t');
        var pool = new BufferPool(256);
        var cache = new BufferCache(pool, size: 128, burst: 32);
        using (var port = new TapPort("left", name, queues: 2, tso: tso, lro: lro))
        {
            // IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE
            Assert.Equal(0x5102, Convert.ToInt32(Sys(name, "tun_flags")[2..], 16));
            string features = TapLab.Run("ethtool", "-k", name);
            Assert.Contains("tx-checksumming: on", features, StringComparison.Ordinal);
            Assert.Contains($"tcp-segmentation-offload: {(receives ? "on" : "off")}", features, StringComparison.Ordinal);
            PortCapabilities expected = PortCapabilities.ReceiveChecksum | PortCapabilities.TransmitChecksum | PortCapabilities.MultiQueue
                | (tso ? PortCapabilities.Tso : PortCapabilities.None) | (receives ? PortCapabilities.Lro : PortCapabilities.None);
            Assert.Equal(expected, port.Capabilities);

            Assert.Equal("tap", port.Driver);
            Assert.Equal(2, port.QueueCount);
            Assert.Equal(Sys(name, "address"), port.KernelMac.ToString(), ignoreCase: true);
            Assert.Equal(0x02UL, port.Mac.ToUInt64() >> 40); // locally administered, unicast
            Assert.NotEqual(port.KernelMac, port.Mac);
            Assert.Equal(int.Parse(Sys(name, "mtu"), CultureInfo.InvariantCulture), port.Mtu);
            Assert.True((Convert.ToInt32(Sys(name, "flags")[2..], 16) & 1) != 0, "IFF_UP");
            Assert.True(port.LinkUp);

            TapQueue[] queues = [port.Queue(0, cache), port.Queue(1, cache)];
            Assert.All(queues, q => Assert.True(q.ReadinessDescriptor.NonBlocking));
            Assert.NotEqual(queues[0].ReadinessDescriptor.Value, queues[1].ReadinessDescriptor.Value);
            // Up in this namespace, the kernel may already have sent IPv6 router solicitations and MLD
            // reports through it: read whatever is there; then EAGAIN ends a burst, and is no error.
            var burst = new PacketBuffer[8];
            foreach (TapQueue queue in queues)
            {
                for (int n; (n = queue.Receive(burst)) > 0;)
                    cache.Release(burst.AsSpan(0, n));
                Assert.Equal(0, queue.Receive(burst));
                Assert.Equal(0, port.Counters(queue.Index).Errors);
                Assert.Equal(0, port.Counters(queue.Index).ReceiveDrops);
            }

            TapLab.Run("ip", "link", "set", name, "down");
            Assert.False(port.LinkUp);
        }
        Assert.True(TapLab.Gone(name), "closing the last queue removes the tap");
        cache.Flush();
        Assert.Equal(pool.Count, pool.Shared.Count); // the receive reserve went back
    }

    [SkippableFact]
    public void A_host_in_a_namespace_pings_us_through_a_two_queue_tap_moved_into_it()
    {
        TapLab.RequireRoot();
        using var lab = new TapLab();
        string tap = TapLab.UniqueName('t');
        var pool = new BufferPool(512);
        var cache = new BufferCache(pool, size: 256, burst: 32);
        var seen = new List<(int Queue, BufferMetadata Metadata, byte[] Frame)>();
        int replies = 0;
        long replyBytes = 0;
        using (var port = new TapPort("left", tap, queues: 2, portIndex: 3))
        {
            string host = lab.Namespace();
            TapLab.MoveInto(tap, host, "10.66.0.1/24");
            TapQueue[] queues = [port.Queue(0, cache), port.Queue(1, cache)];
            port.Start();

            LabProcess ping = lab.StartIn(host, "ping", "-n", "-c", "3", "-i", "0.2", "-W", "5", "-I", tap, "10.66.0.2");
            bool finished = TapLab.Pump(queues, (q, frame) =>
            {
                seen.Add((q, pool.Metadata(frame), TapLab.Bytes(pool, frame)));
                Span<byte> bytes = pool.Data(frame);
                PacketBuffer? reply = null;
                if (TapFrames.IsArpRequestFor(bytes, TapLab.OurAddress, out MacAddress askerMac, out Ipv4Address askerIp))
                    reply = TapLab.Buffer(cache, TapFrames.ArpReply(port.Mac, TapLab.OurAddress, askerMac, askerIp));
                else if (TapFrames.IsEchoRequestTo(bytes, TapLab.OurAddress))
                    reply = TapLab.Buffer(cache, TapFrames.EchoReply(bytes, port.Mac));
                cache.Release(frame);
                if (reply is PacketBuffer r)
                {
                    int length = pool.Metadata(r).PacketLength;
                    Assert.Equal(1, queues[q].Transmit([r]));
                    replies++;
                    replyBytes += length;
                }
            }, () => ping.HasExited, Patience);

            Assert.True(finished, $"ping did not finish: {ping.Output}");
            Assert.True(ping.WaitForExit(Patience) == 0, $"ping failed: {ping.Output}{ping.Error}");
            Assert.Contains("3 received", ping.Output, StringComparison.Ordinal);

            // The host asked for us with ARP from the tap's address. (Frames before it are IPv6
            // the kernel sent while the tap was up in this namespace, before the move.)
            (int queue, BufferMetadata m, byte[] arp) = seen.First(s => (EtherType)(s.Frame[12] << 8 | s.Frame[13]) != EtherType.Ipv6);
            Assert.Equal(EtherType.Arp, (EtherType)(arp[12] << 8 | arp[13]));
            Assert.True(TapFrames.IsArpRequestFor(arp, TapLab.OurAddress, out MacAddress mac, out Ipv4Address ip));
            Assert.Equal(port.KernelMac, mac);
            Assert.Equal(TapLab.HostAddress, ip);
            Assert.Equal(42, m.PacketLength); // a tap does not pad to 60 bytes
            Assert.Equal(42, m.DataLength);
            Assert.Equal(1, m.Segments);
            Assert.Equal(-1, m.Next);
            Assert.Equal(3, m.Port);
            Assert.Equal(queue, m.Queue);
            Assert.NotEqual(0, m.Timestamp);
            Assert.Equal(3, seen.Count(s => TapFrames.IsEchoRequestTo(s.Frame, TapLab.OurAddress)));
            Assert.All(seen, s => Assert.Equal(s.Frame.Length, s.Metadata.PacketLength));

            long received = port.Counters(0).ReceivedPackets + port.Counters(1).ReceivedPackets;
            long bytes = port.Counters(0).ReceivedBytes + port.Counters(1).ReceivedBytes;
            long sent = port.Counters(0).TransmittedPackets + port.Counters(1).TransmittedPackets;
            Assert.Equal(seen.Count, received);
            Assert.Equal(seen.Sum(s => (long)s.Frame.Length), bytes);
            Assert.Equal(replies, sent);
            Assert.True(sent >= 4, $"sent {sent}"); // an ARP reply and three echo replies
            Assert.Equal(replyBytes, port.Counters(0).TransmittedBytes + port.Counters(1).TransmittedBytes);
            Assert.Equal(0, port.Counters(0).Errors + port.Counters(1).Errors + port.Counters(0).ReceiveDrops + port.Counters(1).ReceiveDrops);
            string rx = TapLab.RunIn(host, "cat", $"/sys/class/net/{tap}/statistics/rx_packets").Trim();
            Assert.Equal(sent, long.Parse(rx, CultureInfo.InvariantCulture));
        }
        cache.Flush();
        Assert.Equal(pool.Count, pool.Shared.Count); // received, sent and reserve buffers all came back
    }

    /// <summary>Answers ARP for us and echo requests to us; drops the rest.</summary>
    private readonly struct Responder(MacAddress mac) : IPacketProcessor
    {
        public void Process<TFacts>(WorkerContext context, int port, PacketBuffer packet)
            where TFacts : struct, IReceiveFacts
        {
            Span<byte> frame = context.Pool.Data(packet);
            byte[]? reply = null;
            if (TapFrames.IsArpRequestFor(frame, TapLab.OurAddress, out MacAddress askerMac, out Ipv4Address askerIp))
                reply = TapFrames.ArpReply(mac, TapLab.OurAddress, askerMac, askerIp);
            else if (TapFrames.IsEchoRequestTo(frame, TapLab.OurAddress))
                reply = TapFrames.EchoReply(frame, mac);
            context.Cache.Release(packet);
            if (reply is null || !context.Cache.TryAllocate(out PacketBuffer buffer))
                return;
            ref BufferMetadata m = ref context.Pool.Metadata(buffer);
            m.DataLength = (ushort)reply.Length;
            m.PacketLength = reply.Length;
            reply.CopyTo(context.Pool.Data(buffer));
            context.Transmit(port, buffer);
        }

        public void OnTimer(TimerWheel wheel, in ExpiredTimer timer)
        {
        }
    }

    [SkippableFact]
    public void The_host_s_flows_arrive_on_the_queue_of_the_worker_that_owns_them()
    {
        TapLab.RequireRoot();
        using var lab = new TapLab();
        string tap = TapLab.UniqueName('t');
        var pool = new BufferPool(512);
        var cache = new BufferCache(pool, size: 256, burst: 32);
        var udp = new List<(int Queue, byte[] Frame)>();
        using var port = new TapPort("left", tap, queues: 2);
        Assert.Equal(HostFlowSteering.SteeredMode, port.Mode);
        Assert.Null(port.SteeringProblem);
        // The engine's placement, not the one the port opened with: a third of the entries moved.
        var owners = new RssIndirectionTable(2);
        for (int i = 0; i < owners.Size; i += 3)
            owners.SetEntry(i, 1 - owners.Entries[i]);
        port.SteerFlows(ToeplitzHash.SymmetricKey, owners);
        Assert.Null(port.SteeringProblem);
        string host = lab.Namespace();
        TapLab.MoveInto(tap, host, "10.66.0.1/24");
        TapLab.Run("ip", "-n", host, "neigh", "replace", TapLab.OurAddress.ToString(), "lladdr", port.Mac.ToString(), "dev", tap, "nud", "permanent");
        TapQueue[] queues = [port.Queue(0, cache), port.Queue(1, cache)];
        port.Start();

        // 64 datagrams from 64 sockets: 64 flows, which the kernel's own hash would put on either
        // queue at random, here each on its owner's by an engine of two workers.
        string script = $"import socket\nfor i in range(64):\n  s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n  s.sendto(b'seq-%d' % i, ('{TapLab.OurAddress}', 9))\n  s.close()";
        LabProcess send = lab.StartIn(host, "python3", "-c", script);
        bool finished = TapLab.Pump(queues, (q, frame) =>
        {
            byte[] bytes = TapLab.Bytes(pool, frame);
            cache.Release(frame);
            if (EthernetFrame.TryCreate(bytes, out EthernetFrame eth) && eth.EtherType == EtherType.Ipv4
                && Ipv4Packet.TryCreate(eth.Payload, out Ipv4Packet ip) && ip.Protocol == IpProtocol.Udp
                && UdpDatagram.TryCreate(ip.Payload, out UdpDatagram datagram) && datagram.DestinationPort == 9)
                udp.Add((q, bytes));
        }, () => udp.Count == 64, Patience);
        Assert.True(finished, $"{udp.Count} of 64 datagrams came through; the sender said: {send.Output}{send.Error}");
        Assert.True(send.WaitForExit(Patience) == 0, send.Error);

        var hash = ToeplitzHash.CreateSymmetric();
        Assert.All(udp, u => Assert.Equal(owners.OwnerOf(FlowKey.FrameHash(hash, u.Frame, u.Frame.Length)), u.Queue));
        Assert.Contains(udp, u => u.Queue == 0);
        Assert.Contains(udp, u => u.Queue == 1);
    }

    [SkippableFact]
    public void The_engine_drives_a_two_queue_tap_with_a_worker_per_queue_and_answers_a_ping()
    {
        TapLab.RequireRoot();
        using var lab = new TapLab();
        string tap = TapLab.UniqueName('t');
        var pool = new BufferPool(1024);
        using var port = new TapPort("left", tap, queues: 2);
        string host = lab.Namespace();
        TapLab.MoveInto(tap, host, "10.66.0.1/24");
        using (var engine = new PacketEngine<Responder>(
            pool, [0, 1], [new PortBinding(port, (q, cache) => new TapQueuePath(port.Queue(q, cache)))], _ => new Responder(port.Mac))
        {
            PinThreads = false,
        })
        {
            engine.Start();
            LabProcess ping = lab.StartIn(host, "ping", "-n", "-c", "4", "-i", "0.2", "-W", "5", "-I", tap, "10.66.0.2");
            Assert.True(ping.WaitForExit(Patience) == 0, $"ping failed: {ping.Output}{ping.Error}");
            Assert.Contains("4 received", ping.Output, StringComparison.Ordinal);
            engine.Stop();
            Assert.True(engine.Workers.Sum(w => w.Context.Counters.Processed) >= 5); // an ARP request and four echo requests
        }
        Assert.True(port.Counters(0).TransmittedPackets + port.Counters(1).TransmittedPackets >= 5);
        Assert.Equal(0, port.Counters(0).Errors + port.Counters(1).Errors);
        Assert.Equal(pool.Count, pool.Shared.Count); // the workers' caches and the queues' reserves all came back
    }

    [SkippableFact]
    public void Once_moved_away_the_port_keeps_its_mtu_and_learns_the_link_state_from_its_writes()
    {
        TapLab.RequireRoot();
        using var lab = new TapLab();
        string tap = TapLab.UniqueName('t');
        var pool = new BufferPool(128);
        var cache = new BufferCache(pool, size: 64, burst: 16);
        using var port = new TapPort("left", tap, queues: 1, mtu: 4000);
        Assert.Equal(4000, port.Mtu);
        string host = lab.Namespace();
        TapLab.MoveInto(tap, host, "10.66.0.1/24");
        TapQueue queue = port.Queue(0, cache);
        port.Start();
        Assert.False(LinkControl.Exists(tap));
        Assert.Equal(4000, port.Mtu);
        Assert.True(port.LinkUp);

        TapLab.Run("ip", "-n", host, "link", "set", tap, "down");
        byte[] arp = TapFrames.ArpReply(port.Mac, TapLab.OurAddress, MacAddress.Broadcast, TapLab.HostAddress);
        Assert.Equal(1, queue.Transmit([TapLab.Buffer(cache, arp)])); // taken, and dropped: EIO
        Assert.Equal(1, port.Counters(0).Errors);
        Assert.Equal(0, port.Counters(0).TransmittedPackets);
        Assert.False(port.LinkUp);

        TapLab.Run("ip", "-n", host, "link", "set", tap, "up");
        Assert.Equal(1, queue.Transmit([TapLab.Buffer(cache, arp)]));
        Assert.Equal(1, port.Counters(0).TransmittedPackets);
        Assert.True(port.LinkUp);
        port.Stop();
        Assert.False(port.LinkUp);
    }

    [SkippableFact]
    public void Without_buffers_frames_are_read_dropped_and_counted_and_receive_recovers_when_buffers_return()
    {
        TapLab.RequireRoot();
        using var lab = new TapLab();
        string tap = TapLab.UniqueName('t');
        var pool = new BufferPool(64);
        var cache = new BufferCache(pool, size: 64, burst: 16);
        using var port = new TapPort("left", tap, queues: 1);
        string host = lab.Namespace();
        TapLab.MoveInto(tap, host, "10.66.0.1/24");
        TapQueue queue = port.Queue(0, cache);
        port.Start();

        // First the IPv6 frames the kernel sent while the tap was up in this namespace.
        var burst = new PacketBuffer[32];
        for (int got; (got = queue.Receive(burst)) > 0;)
            cache.Release(burst.AsSpan(0, got));
        long before = port.Counters(0).ReceivedPackets;
        port.Stop(); // gives the queue's receive reserve back to the pool: now the pool can run dry
        port.Start();

        var held = new List<PacketBuffer>();
        while (cache.TryAllocate(out PacketBuffer b))
            held.Add(b);
        Assert.Equal(pool.Count, held.Count);

        // Broadcast echo requests: frames the host sends without waiting for anyone's answer.
        // Nobody answers, so ping exits 1 after its 0.2-second wait: only the frames matter.
        lab.StartIn(host, "ping", "-n", "-b", "-c", "5", "-i", "0.05", "-W", "0.2", "10.66.0.255").WaitForExit(Patience);
        Assert.Equal(0, queue.Receive(burst));
        Assert.Equal(5, port.Counters(0).ReceiveDrops);
        Assert.Equal(0, port.Counters(0).Errors);
        Assert.Equal(0, queue.Receive(burst)); // drained: the kernel's queue is empty

        cache.Release(held.ToArray());
        // Each window takes in the two frames of one more broadcast ping, sent before it unmeasured;
        // the data path allocates nothing. No asserts inside a window (they may allocate): what each
        // window read is noted and checked after.
        const int Windows = 3;
        int window = 0;
        int[] lengths = new int[2 * (1 + Windows)];
        int[] counts = new int[1 + Windows];
        long allocated = Allocations.Least(Windows, () =>
        {
            int n = queue.Receive(burst);
            counts[window] = n;
            for (int i = 0; i < n && i < 2; i++)
                lengths[2 * window + i] = pool.Metadata(burst[i]).PacketLength;
            cache.Release(burst.AsSpan(0, n));
            window++;
        }, prepare: () => lab.StartIn(host, "ping", "-n", "-b", "-c", "2", "-i", "0.05", "-W", "0.2", "10.66.0.255").WaitForExit(Patience));
        Assert.Equal(0, allocated);
        Assert.All(counts, n => Assert.Equal(2, n));
        Assert.All(lengths, length => Assert.Equal(14 + 84, length));
        Assert.Equal(before + 2 * (1 + Windows), port.Counters(0).ReceivedPackets);
        Assert.Equal(5, port.Counters(0).ReceiveDrops);
    }

    [SkippableTheory]
    [InlineData("bad/name")]
    [InlineData("")]
    [InlineData("sixteen-letters!")]
    [InlineData("two words")]
    public void An_invalid_interface_name_is_refused_naming_the_port_and_the_name(string ifname)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "needs Linux");
        var e = Assert.Throws<NativeException>(() => new TapPort("left", ifname));
        Assert.StartsWith($"port left (tap {ifname}): '{ifname}' is not an interface name", e.Message, StringComparison.Ordinal);
        Assert.IsType<ArgumentException>(e.InnerException);
    }

    [SkippableFact]
    public void A_name_taken_by_an_interface_that_is_not_a_tap_is_refused_and_nothing_is_left_behind()
    {
        TapLab.RequireRoot();
        string name = TapLab.UniqueName('v');
        TapLab.Run("ip", "link", "add", name, "type", "veth", "peer", "name", name + "p");
        try
        {
            var e = Assert.Throws<NativeException>(() => new TapPort("left", name, queues: 2));
            Assert.Equal(Errno.EINVAL, e.Errno.Number);
            Assert.Equal($"port left (tap {name}): cannot attach queue 0 (ioctl TUNSETIFF; {name} exists and is not a multi-queue tap): EINVAL (22): Invalid argument", e.Message);
            Assert.Equal("veth", TapLab.Run("ethtool", "-i", name).Split('\n')[0].Split(' ')[1]); // untouched
        }
        finally
        {
            TapLab.Run("ip", "link", "del", name);
        }
    }

    [SkippableFact]
    public void Without_CAP_NET_ADMIN_opening_fails_with_EPERM_naming_the_port_and_leaves_nothing_behind()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists(Tun.CloneDevice), $"needs Linux and {Tun.CloneDevice}");
        bool root = Tmds.Linux.LibC.geteuid() == 0;
        string name = TapLab.UniqueName('t');
        Exception? failure = null;
        // As root, capabilities are per thread on Linux: drop CAP_NET_ADMIN from this thread's
        // effective set only, and let the thread end with it. Any other user has none to drop.
        var thread = new Thread(() =>
        {
            try
            {
                if (root)
                    Capabilities.DropEffective(Capabilities.NetAdmin);
                _ = new TapPort("left", name);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        var error = Assert.IsType<NativeException>(failure);
        if (!root && error.Errno.Number == Errno.EACCES)
        {
            // The device node itself is closed to this user (mode 0660 here, 0666 on stock Debian).
            Assert.Equal($"port left (tap {name}): cannot open {Tun.CloneDevice} (its permissions keep this user out: run as root, or give the user access to {Tun.CloneDevice} and a tap made beforehand): EACCES (13): Permission denied", error.Message);
            return;
        }
        Assert.Equal(Errno.EPERM, error.Errno.Number);
        Assert.Equal($"port left (tap {name}): cannot attach queue 0 (ioctl TUNSETIFF; creating a tap or attaching to another user's needs CAP_NET_ADMIN): EPERM (1): Operation not permitted", error.Message);
        Assert.True(TapLab.Gone(name));
        Assert.True(thread.Join(0));
    }

    [SkippableFact]
    public void When_a_later_queue_fails_the_queues_opened_before_are_closed_and_the_tap_is_gone()
    {
        TapLab.RequireRoot();
        string name = TapLab.UniqueName('t');
        // tun.c: MAX_TAP_QUEUES is 256, so queue 256 fails after 256 were attached.
        var e = Assert.Throws<NativeException>(() => new TapPort("left", name, queues: 257));
        Assert.StartsWith($"port left (tap {name}): cannot attach queue 256 (ioctl TUNSETIFF; a tap has at most 256 queues): E2BIG", e.Message, StringComparison.Ordinal);
        Assert.True(TapLab.Gone(name));
    }

    private static string Sys(string name, string attribute) => File.ReadAllText($"/sys/class/net/{name}/{attribute}").Trim();

    /// <summary>capget(2) / capset(2) on the calling thread (Linux keeps capabilities per thread).</summary>
    private static class Capabilities
    {
        /// <summary>CAP_NET_ADMIN (<c>linux/capability.h</c>).</summary>
        public const int NetAdmin = 12;

        private const uint Version3 = 0x20080522; // _LINUX_CAPABILITY_VERSION_3: two data words

        [StructLayout(LayoutKind.Sequential)]
        private struct Header
        {
            public uint Version;
            public int Pid;
        }

        [StructLayout(LayoutKind.Sequential)]
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
                throw new InvalidOperationException($"capget: {Marshal.GetLastPInvokeError()}");
            data[capability / 32].Effective &= ~(1u << (capability % 32));
            header = new Header { Version = Version3 };
            if (capset(ref header, data) != 0)
                throw new InvalidOperationException($"capset: {Marshal.GetLastPInvokeError()}");
        }

        [DllImport("libc.so.6", SetLastError = true)]
        private static extern int capget(ref Header header, [Out] Data[] data);

        [DllImport("libc.so.6", SetLastError = true)]
        private static extern int capset(ref Header header, [In] Data[] data);
    }
}
