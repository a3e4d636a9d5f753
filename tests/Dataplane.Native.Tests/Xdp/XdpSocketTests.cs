using System.Diagnostics;
using Dataplane.Native.Tests.Support;

namespace Dataplane.Native.Tests.Xdp;

/// <summary>
/// AF_XDP on a veth pair made for the test (root namespace, unique names, no addresses, IPv6 off,
/// deleted in finally): the redirect program on end A in native mode, an XDP socket on A's queue 0 in
/// copy mode with need-wakeup, and plain AF_PACKET sockets on end B as the far side.
/// </summary>
[Trait("Category", "Linux")]
public unsafe class XdpSocketTests
{
    /// <summary>The bound of every wait for the kernel: a safety net, generous for a loaded machine.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private const uint ChunkSize = 2048;
    private const uint ChunkCount = 128;
    private const uint RingSize = 64;

    [SkippableFact]
    public void A_frame_sent_from_the_peer_arrives_in_the_rx_ring_from_a_filled_chunk()
    {
        Lab.RequireRoot();
        using var rig = new XskRig();
        XdpSocket xsk = rig.Socket;
        Assert.False(xsk.IsZeroCopy()); // veth has no zero-copy: copy mode as asked
        Assert.True(xsk.Tx!.NeedsWakeup); // copy mode with need-wakeup: TX always wants its kick

        // The first RingSize chunks go to the fill ring.
        Assert.Equal(RingSize, xsk.Fill!.Reserve(RingSize, out uint f));
        for (uint k = 0; k < RingSize; k++)
            xsk.Fill.Address(f + k) = k * ChunkSize;
        xsk.Fill.Submit(RingSize);
        Assert.False(xsk.Fill.NeedsWakeup); // set only by zero-copy drivers
        Assert.Equal(0, xsk.KickReceive()); // harmless in copy mode

        using var tx = PacketSocket.Open(protocol: 0);
        tx.Bind(rig.Veth.IndexB);
        byte[] frame = Frames.Experimental(Frames.MacA, Frames.MacB, marker: 0x0d0a7d01);
        Assert.Equal(frame.Length, tx.Send(frame));

        byte[]? received = null;
        ulong address = 0;
        var clock = Stopwatch.StartNew();
        while (received is null && clock.Elapsed < Patience)
        {
            uint n = xsk.Rx!.Peek(16, out uint r);
            if (n == 0)
            {
                xsk.Descriptor.Poll(PollEvents.In, 100);
                continue;
            }
            for (uint k = 0; k < n; k++)
            {
                XdpDesc d = xsk.Rx.Descriptor(r + k);
                Span<byte> bytes = rig.Umem.Slice((nuint)d.Address, (int)d.Length);
                if (Frames.IsExperimental(bytes, 0x0d0a7d01))
                {
                    received = bytes.ToArray();
                    address = d.Address;
                }
            }
            xsk.Rx.Release(n);
        }

        Assert.NotNull(received);
        Assert.Equal(Lab.Hex(frame), Lab.Hex(received));
        // Aligned mode, headroom 0: the frame starts XDP_PACKET_HEADROOM into one of the filled chunks.
        Assert.Equal(XdpConstants.PacketHeadroom, address % ChunkSize);
        Assert.True(address / ChunkSize < RingSize);
        XdpStatistics stats = xsk.GetStatistics();
        Assert.Equal(0ul, stats.RxInvalidDescriptors);
        Assert.Equal(0ul, stats.RxDropped);
    }

    [SkippableFact]
    public void A_tx_ring_frame_reaches_the_peer_and_its_chunk_comes_back_on_the_completion_ring()
    {
        Lab.RequireRoot();
        using var rig = new XskRig();
        XdpSocket xsk = rig.Socket;
        using var rx = PacketSocket.Open();
        rx.Bind(rig.Veth.IndexB);

        byte[] frame = Frames.Experimental(Frames.MacB, Frames.MacA, marker: 0x0d0a7d02);
        const ulong Address = 100 * ChunkSize; // a chunk the fill ring never had
        frame.CopyTo(rig.Umem.Slice((nuint)Address, frame.Length));
        Assert.Equal(1u, xsk.Tx!.Reserve(1, out uint t));
        xsk.Tx.Descriptor(t) = new XdpDesc { Address = Address, Length = (uint)frame.Length };
        xsk.Tx.Submit(1);
        Assert.True(xsk.Tx.NeedsWakeup);
        Assert.Equal(0, xsk.KickTransmit());

        byte[]? received = ReceiveExperimental(rx, 0x0d0a7d02);
        Assert.NotNull(received);
        Assert.Equal(Lab.Hex(frame), Lab.Hex(received));

        uint c = 0;
        Assert.True(NetnsLab.Until(() => xsk.Completion!.Peek(1, out c) == 1, Patience), "the chunk did not complete");
        Assert.Equal(Address, xsk.Completion!.Address(c));
        xsk.Completion.Release(1);
        Assert.Equal(0ul, xsk.GetStatistics().TxInvalidDescriptors);
    }

    [SkippableFact]
    public void The_program_leaves_the_interface_when_the_link_closes()
    {
        Lab.RequireRoot();
        using var veth = new VethPair();
        using var map = XskMap.Create(1);
        using var program = XdpProgram.LoadRedirect(map);
        using (XdpAttachment attachment = program.Attach(veth.A, XdpAttachMode.Native))
        {
            Assert.True(attachment.IsLink);
            string shown = Lab.Ip("-d", "link", "show", "dev", veth.A);
            Assert.Matches(@"mtu \d+ xdp qdisc", shown); // "xdp": native; generic would be "xdpgeneric"
            Assert.Contains("prog/xdp", shown, StringComparison.Ordinal);
            Assert.Equal(Errno.EBUSY, Assert.Throws<NativeException>(() => program.Attach(veth.A, XdpAttachMode.Native)).Errno.Number);
        }
        Assert.DoesNotContain("prog/xdp", Lab.Ip("-d", "link", "show", "dev", veth.A), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void The_netlink_fallback_attaches_in_generic_mode_until_disposed()
    {
        Lab.RequireRoot();
        using var veth = new VethPair();
        using var map = XskMap.Create(1);
        using var program = XdpProgram.LoadRedirect(map);
        using (XdpAttachment attachment = program.AttachThroughNetlink(veth.IndexA, XdpAttachMode.Generic))
        {
            Assert.False(attachment.IsLink);
            Assert.Matches(@"mtu \d+ xdpgeneric qdisc", Lab.Ip("-d", "link", "show", "dev", veth.A));
        }
        Assert.DoesNotContain("prog/xdp", Lab.Ip("-d", "link", "show", "dev", veth.A), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Attaching_to_a_missing_interface_throws_naming_it()
    {
        Lab.RequireRoot();
        using var map = XskMap.Create(1);
        using var program = XdpProgram.LoadRedirect(map);
        string missing = Lab.UniqueName('x');
        var byName = Assert.Throws<NativeException>(() => program.Attach(missing, XdpAttachMode.Native));
        Assert.Contains(missing, byName.Message, StringComparison.Ordinal);
        Assert.Equal(Errno.ENODEV, byName.Errno.Number);

        // By index: BPF_LINK_CREATE answers EINVAL for an unknown index (net/core/dev.c,
        // bpf_xdp_link_attach), so the netlink fallback runs and reports ENODEV.
        const int NoSuchIndex = 0x7ffffff0;
        var byIndex = Assert.Throws<NativeException>(() => program.Attach(NoSuchIndex, XdpAttachMode.Native));
        Assert.Contains($"ifindex {NoSuchIndex}", byIndex.Message, StringComparison.Ordinal);
        Assert.Equal(Errno.ENODEV, byIndex.Errno.Number);
    }

    [SkippableFact]
    public void The_kernel_takes_the_v1_and_the_full_umem_registration_and_nothing_shorter()
    {
        Lab.RequireRoot();
        using PinnedMemory umem = HugePages.Allocate(ChunkSize * ChunkCount, lockMemory: false);
        var reg = new XdpUmemReg { Address = (ulong)umem.Pointer, Length = ChunkSize * ChunkCount, ChunkSize = ChunkSize };
        using (var shorter = XdpSocket.Open())
            Assert.Equal(-Errno.EINVAL, shorter.TryRegisterUmem(reg, 16));
        using (var v1 = XdpSocket.Open())
            Assert.Equal(0, v1.TryRegisterUmem(reg, XdpUmemReg.V1Size));
        using (var full = XdpSocket.Open())
            Assert.Equal(0, full.TryRegisterUmem(reg, XdpUmemReg.Size));
        // A second registration on one socket is EBUSY.
        using var twice = XdpSocket.Open();
        twice.RegisterUmem((nint)umem.Pointer, ChunkSize * ChunkCount, ChunkSize);
        var e = Assert.Throws<NativeException>(() => twice.RegisterUmem((nint)umem.Pointer, ChunkSize * ChunkCount, ChunkSize));
        Assert.Equal(Errno.EBUSY, e.Errno.Number);
        Assert.Contains("XDP_UMEM_REG", e.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Bind_without_a_fill_ring_is_refused_and_names_the_queue()
    {
        Lab.RequireRoot();
        using var veth = new VethPair();
        using PinnedMemory umem = HugePages.Allocate(ChunkSize * ChunkCount, lockMemory: false);
        using var xsk = XdpSocket.Open();
        xsk.RegisterUmem((nint)umem.Pointer, ChunkSize * ChunkCount, ChunkSize);
        xsk.SetRingSize(XdpRingKind.Rx, RingSize);
        var e = Assert.Throws<NativeException>(() => xsk.Bind(veth.IndexA, 0, XdpBindFlags.Copy));
        Assert.Equal(Errno.EINVAL, e.Errno.Number);
        Assert.Contains($"ifindex {veth.IndexA}, queue 0", e.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void A_second_socket_shares_the_bound_socket_umem_on_its_queue()
    {
        Lab.RequireRoot();
        using var rig = new XskRig();
        using var early = XdpSocket.Open();
        early.SetRingSize(XdpRingKind.Rx, RingSize);
        using var second = XdpSocket.Open();
        second.SetRingSize(XdpRingKind.Rx, RingSize);
        second.MapRings();
        // Same interface and queue: the owner's fill and completion rings serve both, so none of its own.
        second.BindShared(rig.Veth.IndexA, 0, rig.Socket);
        Assert.Null(second.Fill);
        Assert.NotNull(second.Rx);

        using var unbound = XdpSocket.Open();
        var e = Assert.Throws<NativeException>(() => early.BindShared(rig.Veth.IndexA, 0, unbound));
        Assert.Equal(Errno.EBADF, e.Errno.Number); // the owner must be bound first
        Assert.Contains("XDP_SHARED_UMEM", e.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Forcing_zero_copy_on_veth_is_refused()
    {
        Lab.RequireRoot();
        using var veth = new VethPair();
        using PinnedMemory umem = HugePages.Allocate(ChunkSize * ChunkCount, lockMemory: false);
        using var xsk = XdpSocket.Open();
        xsk.RegisterUmem((nint)umem.Pointer, ChunkSize * ChunkCount, ChunkSize);
        xsk.SetRingSize(XdpRingKind.Fill, RingSize);
        xsk.SetRingSize(XdpRingKind.Completion, RingSize);
        xsk.SetRingSize(XdpRingKind.Rx, RingSize);
        // veth has XDP (ndo_bpf) but no ndo_xsk_wakeup: net/xdp/xsk_buff_pool.c, xp_assign_dev.
        var e = Assert.Throws<NativeException>(() => xsk.Bind(veth.IndexA, 0, XdpBindFlags.ZeroCopy));
        Assert.Equal(Errno.EOPNOTSUPP, e.Errno.Number);
    }

    private static byte[]? ReceiveExperimental(PacketSocket socket, uint marker)
    {
        var buffer = new byte[2048];
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Patience)
        {
            socket.Descriptor.Poll(PollEvents.In, 100);
            nint n = socket.Receive(buffer);
            if (n > 0 && Frames.IsExperimental(buffer.AsSpan(0, (int)n), marker))
                return buffer[..(int)n];
        }
        return null;
    }

    /// <summary>
    /// Everything an AF_XDP receive and transmit needs, made in the driver's order and undone in the
    /// reverse: veth pair, XSKMAP, program attached natively to A through a link, UMEM, socket with
    /// four rings bound to A queue 0 (copy, need-wakeup) and entered in the map.
    /// </summary>
    private sealed class XskRig : IDisposable
    {
        private readonly XskMap? _map;
        private readonly XdpProgram? _program;
        private readonly XdpAttachment? _attachment;

        public XskRig()
        {
            Veth = new VethPair();
            try
            {
                _map = XskMap.Create(1);
                _program = XdpProgram.LoadRedirect(_map);
                _attachment = _program.Attach(Veth.IndexA, XdpAttachMode.Native);
                Umem = HugePages.Allocate(ChunkSize * ChunkCount, lockMemory: false);
                Socket = XdpSocket.Open();
                Socket.RegisterUmem((nint)Umem.Pointer, ChunkSize * ChunkCount, ChunkSize);
                Socket.SetRingSize(XdpRingKind.Fill, RingSize);
                Socket.SetRingSize(XdpRingKind.Completion, RingSize);
                Socket.SetRingSize(XdpRingKind.Rx, RingSize);
                Socket.SetRingSize(XdpRingKind.Tx, RingSize);
                Socket.MapRings();
                Socket.Bind(Veth.IndexA, 0, XdpBindFlags.Copy | XdpBindFlags.UseNeedWakeup);
                _map.Set(0, Socket);
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public VethPair Veth { get; }

        public PinnedMemory Umem { get; } = null!;

        public XdpSocket Socket { get; } = null!;

        public void Dispose()
        {
            try
            {
                _attachment?.Dispose(); // closes the link: the program leaves A
                Socket?.Dispose();
                _program?.Dispose();
                _map?.Dispose();
                Umem?.Dispose(); // after the socket: the kernel held its pages until then
            }
            finally
            {
                Veth.Dispose();
            }
        }
    }
}
