using System.Buffers.Binary;
using System.Diagnostics;
using Dataplane.Native.Tests.Support;

namespace Dataplane.Native.Tests.TunTap;

/// <summary>
/// Tap interfaces made by the test with unique names (<c>dpn&lt;pid&gt;t&lt;n&gt;</c>); the traffic test
/// moves its tap into a network namespace of its own (<c>dpn-&lt;pid&gt;-&lt;n&gt;</c>, 10.213.0.1/24) and
/// talks to the kernel there. Closing the last queue removes a tap; namespaces are deleted in finally.
/// </summary>
[Trait("Category", "Linux")]
public unsafe class TunTests
{
    /// <summary>The bound of every wait for the kernel: a safety net, generous for a loaded machine.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly byte[] OurMac = [0x02, 0x00, 0x00, 0x00, 0xd0, 0x02];
    private static readonly byte[] OurIp = [10, 213, 0, 2];
    private static readonly byte[] TapIp = [10, 213, 0, 1];

    [SkippableFact]
    public void The_kernel_supports_multi_queue_taps_with_vnet_headers()
    {
        Lab.RequireLinux();
        Skip.IfNot(File.Exists(Tun.CloneDevice), $"{Tun.CloneDevice} is missing");
        TunFlags features;
        try
        {
            features = Tun.GetFeatures();
        }
        catch (NativeException e) when (e.Errno.Number is Errno.EACCES or Errno.EPERM)
        {
            throw new SkipException($"cannot open {Tun.CloneDevice}: {e.Errno}");
        }
        Assert.Equal(Tun.MultiQueueTap, features & Tun.MultiQueueTap);
    }

    [SkippableFact]
    public void A_multi_queue_tap_is_one_interface_with_a_descriptor_per_queue()
    {
        Lab.RequireRoot();
        string name = Lab.UniqueName('t');
        FileDescriptor[] queues = Tun.OpenTapQueues(name, queueCount: 2);
        try
        {
            foreach (FileDescriptor queue in queues)
            {
                var (attached, flags) = Tun.GetInterface(queue);
                Assert.Equal(name, attached);
                Assert.Equal(Tun.MultiQueueTap, flags & Tun.MultiQueueTap);
                Assert.True(queue.NonBlocking);
            }
            Assert.Equal(VirtioNetHeader.Size, Tun.GetVnetHeaderSize(queues[1]));
            Assert.Equal(0x5102, Lab.ParseHex(Lab.ReadSys(name, "tun_flags")));
            Assert.Equal(int.Parse(Lab.ReadSys(name, "ifindex"), System.Globalization.CultureInfo.InvariantCulture), LinkControl.IndexOf(name));
            Assert.Equal(-Errno.EAGAIN, queues[0].Read(new byte[2048]));
        }
        finally
        {
            foreach (FileDescriptor queue in queues)
                queue.Dispose();
            Lab.IpQuietly("link", "del", name);
        }
        Assert.False(LinkControl.Exists(name));
    }

    [SkippableFact]
    public void Offloads_set_with_TUNSETOFFLOAD_become_the_taps_features()
    {
        Lab.RequireRoot();
        string name = Lab.UniqueName('t');
        FileDescriptor[] queues = Tun.OpenTapQueues(name, queueCount: 1, offloads: TunOffloads.None);
        try
        {
            string off = Lab.Run("ethtool", "-k", name);
            Assert.Contains("tcp-segmentation-offload: off", off, StringComparison.Ordinal);
            Assert.Contains("tx-checksumming: off", off, StringComparison.Ordinal);

            Tun.SetOffloads(queues[0], TunOffloads.Checksum | TunOffloads.Tso4 | TunOffloads.Tso6);
            string on = Lab.Run("ethtool", "-k", name);
            Assert.Contains("tx-tcp-segmentation: on", on, StringComparison.Ordinal);
            Assert.Contains("tx-tcp6-segmentation: on", on, StringComparison.Ordinal);
            Assert.Contains("tx-checksumming: on", on, StringComparison.Ordinal);

            var e = Assert.Throws<NativeException>(() => Tun.SetVnetHeaderSize(queues[0], 8));
            Assert.Equal(Errno.EINVAL, e.Errno.Number);
        }
        finally
        {
            foreach (FileDescriptor queue in queues)
                queue.Dispose();
            Lab.IpQuietly("link", "del", name);
        }
    }

    [SkippableFact]
    public void Frames_written_with_a_virtio_header_reach_the_kernel_and_its_answers_come_back_on_a_queue()
    {
        Lab.RequireRoot();
        string name = Lab.UniqueName('t');
        string ns = $"dpn-{name}";
        FileDescriptor[] queues = Tun.OpenTapQueues(name, queueCount: 2);
        try
        {
            Lab.Ip("netns", "add", ns);
            Lab.Ip("link", "set", name, "netns", ns);
            Lab.Run("ip", "netns", "exec", ns, "sysctl", "-qw", $"net.ipv6.conf.{name}.disable_ipv6=1");
            Lab.Ip("-n", ns, "addr", "add", "10.213.0.1/24", "dev", name);
            Lab.Ip("-n", ns, "link", "set", name, "up");

            // ARP who-has 10.213.0.1: the kernel answers with the tap's address and learns ours.
            Write(queues[0], default, ArpRequest());
            byte[] reply = ReadUntil(queues, f => BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(12)) == 0x0806
                && BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(20)) == 2, out _);
            byte[] tapMac = reply[22..28];
            Assert.Equal(Lab.Hex(TapIp), Lab.Hex(reply.AsSpan(28, 4)));

            // The same echo request without the header's help: its checksum field is 0, so the kernel
            // counts a checksum error (Icmp InCsumErrors) and does not answer.
            Write(queues[1], default, EchoRequest(tapMac, sequence: 2));

            // With VIRTIO_NET_HDR_F_NEEDS_CSUM the checksum is left to the receiver: the kernel takes
            // it as a checksum-offloaded frame (CHECKSUM_PARTIAL) and answers.
            var header = new VirtioNetHeader
            {
                Flags = VirtioNetHeaderFlags.NeedsChecksum,
                GsoType = VirtioNetGsoType.None,
                ChecksumStart = 14 + 20,
                ChecksumOffset = 2,
            };
            Write(queues[1], header, EchoRequest(tapMac, sequence: 1));
            byte[] echo = ReadUntil(queues, f => BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(12)) == 0x0800
                && f[23] == 1 && f[34] == 0 && BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(38)) == 0xd9e
                && BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(40)) == 1, out VirtioNetHeader echoHeader);
            Assert.Equal(VirtioNetGsoType.None, echoHeader.GsoType);
            Assert.Equal(Lab.Hex(OurMac), Lab.Hex(echo.AsSpan(0, 6)));
            Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(echo.AsSpan(40)));
            Assert.Equal(0, Frames.InternetChecksum(echo.AsSpan(34)));
            Assert.Equal(1, IcmpChecksumErrors(ns));

            string received = Lab.Run("ip", "netns", "exec", ns, "cat", $"/sys/class/net/{name}/statistics/rx_packets").Trim();
            Assert.True(int.Parse(received, System.Globalization.CultureInfo.InvariantCulture) >= 3, $"rx_packets {received}");
        }
        finally
        {
            foreach (FileDescriptor queue in queues)
                queue.Dispose();
            Lab.IpQuietly("netns", "del", ns);
            Lab.IpQuietly("link", "del", name);
        }
    }

    private static void Write(FileDescriptor queue, VirtioNetHeader header, byte[] frame)
    {
        var headerBytes = new ReadOnlySpan<byte>(&header, VirtioNetHeader.Size);
        Assert.Equal(VirtioNetHeader.Size + frame.Length, queue.GatherWrite(headerBytes, frame));
    }

    /// <summary>Polls every queue until one yields a frame <paramref name="wanted"/> accepts.</summary>
    private static byte[] ReadUntil(FileDescriptor[] queues, Func<byte[], bool> wanted, out VirtioNetHeader header)
    {
        var polls = new PollFd[queues.Length];
        var frame = new byte[2048];
        VirtioNetHeader h = default;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Patience)
        {
            for (int i = 0; i < queues.Length; i++)
                polls[i] = new PollFd(queues[i].Value, PollEvents.In);
            PollFd.Poll(polls, 100);
            foreach (FileDescriptor queue in queues)
            {
                nint n;
                while ((n = queue.ScatterRead(new Span<byte>(&h, VirtioNetHeader.Size), frame)) > VirtioNetHeader.Size + 14)
                {
                    byte[] got = frame[..((int)n - VirtioNetHeader.Size)];
                    if (got.Length >= 42 && wanted(got))
                    {
                        header = h;
                        return got;
                    }
                }
            }
        }
        throw new TimeoutException("the kernel's answer did not arrive on any queue");
    }

    private static byte[] ArpRequest()
    {
        var f = new byte[42];
        f.AsSpan(0, 6).Fill(0xff);
        OurMac.CopyTo(f, 6);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0806);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(14), 1);      // htype Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), 0x0800); // ptype IPv4
        f[18] = 6;
        f[19] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(20), 1);      // request
        OurMac.CopyTo(f, 22);
        OurIp.CopyTo(f, 28);
        TapIp.CopyTo(f, 38);
        return f;
    }

    /// <summary>Icmp InCsumErrors of /proc/net/snmp in the namespace <paramref name="ns"/>.</summary>
    private static int IcmpChecksumErrors(string ns)
    {
        string[] icmp = Lab.Run("ip", "netns", "exec", ns, "cat", "/proc/net/snmp")
            .Split('\n').Where(l => l.StartsWith("Icmp:", StringComparison.Ordinal)).ToArray();
        int column = Array.IndexOf(icmp[0].Split(' '), "InCsumErrors");
        return int.Parse(icmp[1].Split(' ')[column], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static byte[] EchoRequest(byte[] tapMac, ushort sequence)
    {
        var f = new byte[14 + 20 + 8 + 16];
        tapMac.CopyTo(f, 0);
        OurMac.CopyTo(f, 6);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0800);
        Span<byte> ip = f.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], 20 + 8 + 16);
        ip[8] = 64;
        ip[9] = 1; // ICMP
        OurIp.CopyTo(ip[12..]);
        TapIp.CopyTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Frames.InternetChecksum(ip));
        Span<byte> icmp = f.AsSpan(34);
        icmp[0] = 8; // echo request; its checksum stays 0 for the receiver to fill in
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], 0xd9e); // identifier
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], sequence);
        "dataplane native"u8.CopyTo(icmp[8..]);
        return f;
    }
}
