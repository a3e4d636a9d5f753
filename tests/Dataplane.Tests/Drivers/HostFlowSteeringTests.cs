using Dataplane.Drivers;
using Dataplane.Engine;
using Dataplane.Native;
using Dataplane.Tests.Drivers.Vfio;

namespace Dataplane.Tests.Drivers;

/// <summary>
/// The flow steering program the host ports give the kernel (<see cref="HostFlowSteering"/>), run by
/// the kernel itself (BPF_PROG_TEST_RUN) on frames of every kind the engine places: it must name
/// the queue of the worker the engine would give each frame, or the kernel would put flows on a
/// queue whose worker then hands every frame over.
/// </summary>
public sealed class HostFlowSteeringTests
{
    private static readonly ToeplitzHash EngineHash = ToeplitzHash.CreateSymmetric();

    private static void RequireRoot() => Skip.If(Environment.UserName != "root", "loading a BPF program needs root (CAP_BPF)");

    /// <summary>The engine's worker for <paramref name="frame"/>, as a worker that received it would place it.</summary>
    private static int Owner(RssIndirectionTable owners, byte[] frame) => owners.OwnerOf(FlowKey.FrameHash(EngineHash, frame, frame.Length));

    private static IEnumerable<byte[]> Frames()
    {
        var random = new Random(7);
        for (int i = 0; i < 200; i++)
        {
            uint source = (uint)random.Next() | 0x0a000000;
            uint destination = (uint)random.Next();
            var sp = (ushort)random.Next(1, 65536);
            var dp = (ushort)random.Next(1, 65536);
            yield return FlowFrames.Ipv4(6, source, destination, sp, dp);
            yield return FlowFrames.Ipv4(17, destination, source, dp, sp); // the other direction of a UDP flow
            yield return FlowFrames.Ipv4(1, source, destination, 0, 0); // ICMP: the addresses
            yield return FlowFrames.Ipv4(6, source, destination, sp, dp, fragment: true); // a first fragment: the addresses
            yield return LastFragment(FlowFrames.Ipv4(17, source, destination, sp, dp)); // a last one (an offset, no MF): the addresses
            yield return FlowFrames.Ipv6(6, (byte)i, (byte)(i * 7), sp, dp);
            yield return FlowFrames.Ipv6(17, (byte)(i * 3), (byte)i, dp, sp);
            yield return FlowFrames.Ipv6(58, (byte)i, (byte)(255 - i), 0, 0); // ICMPv6: the addresses
        }
        byte[] options = FlowFrames.Ipv4(17, 0x0a000001, 0x0a000002, 1234, 53);
        yield return WithOptions(options); // IHL 6: the ports a word further on
        // IPv6 extension headers before the transport, walked to the ports; a fragment header, addresses only.
        yield return WithExtensions(FlowFrames.Ipv6(17, 1, 2, 5353, 53), (0, 0), (60, 1));
        yield return WithExtensions(FlowFrames.Ipv6(6, 3, 4, 40000, 443), (43, 2));
        yield return WithExtensions(FlowFrames.Ipv6(17, 5, 6, 1000, 2000), (0, 0), (44, 0));
        yield return WithExtensions(FlowFrames.Ipv6(6, 7, 8, 1, 2), [.. Enumerable.Repeat(((byte)60, 0), 8)]); // 8: the most walked
        yield return WithExtensions(FlowFrames.Ipv6(6, 9, 10, 3, 4), [.. Enumerable.Repeat(((byte)60, 0), 9)]); // 9: addresses only
        byte[] arp = new byte[42];
        arp[12] = 0x08;
        arp[13] = 0x06;
        yield return arp; // not IP: the first entry's worker
    }

    // The frame's IPv4 header made that of a last fragment: offset 185 (1480 bytes), MF clear, checksum redone.
    private static byte[] LastFragment(byte[] frame)
    {
        frame[20] = 0;
        frame[21] = 185;
        frame[24] = frame[25] = 0;
        uint sum = 0;
        for (int i = 14; i < 34; i += 2)
            sum += (uint)(frame[i] << 8 | frame[i + 1]);
        while (sum > 0xffff)
            sum = (sum & 0xffff) + (sum >> 16);
        frame[24] = (byte)(~sum >> 8);
        frame[25] = (byte)~sum;
        return frame;
    }

    // An IPv6 frame with extension headers (type, length in 8 octets less one) between its fixed
    // header and its transport: each zero-filled (PadN-less options are fine for a hash).
    private static byte[] WithExtensions(byte[] frame, params (byte Type, int Length)[] headers)
    {
        int added = headers.Sum(h => (h.Length + 1) * 8);
        var longer = new byte[frame.Length + added];
        frame.AsSpan(0, 54).CopyTo(longer);
        byte transport = frame[20];
        longer[20] = headers[0].Type;
        int at = 54;
        for (int i = 0; i < headers.Length; i++)
        {
            longer[at] = i + 1 < headers.Length ? headers[i + 1].Type : transport;
            if (headers[i].Type != 44)
                longer[at + 1] = (byte)headers[i].Length;
            at += (headers[i].Length + 1) * 8;
        }
        frame.AsSpan(54).CopyTo(longer.AsSpan(at));
        int payload = longer.Length - 54;
        longer[18] = (byte)(payload >> 8);
        longer[19] = (byte)payload;
        return longer;
    }

    // An IPv4 frame with one 4-byte option (four NOPs) before its transport header.
    private static byte[] WithOptions(byte[] frame)
    {
        var longer = new byte[frame.Length + 4];
        frame.AsSpan(0, 34).CopyTo(longer);
        longer[14] = 0x46;
        longer.AsSpan(34, 4).Fill(1);
        frame.AsSpan(34).CopyTo(longer.AsSpan(38));
        longer[17] += 4; // the total length
        uint sum = 0;
        longer[24] = longer[25] = 0;
        for (int i = 14; i < 38; i += 2)
            sum += (uint)(longer[i] << 8 | longer[i + 1]);
        while (sum > 0xffff)
            sum = (sum & 0xffff) + (sum >> 16);
        longer[24] = (byte)(~sum >> 8);
        longer[25] = (byte)~sum;
        return longer;
    }

    [SkippableTheory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void The_kernel_runs_the_program_to_the_worker_the_engine_gives_each_frame(int workers)
    {
        RequireRoot();
        var owners = new RssIndirectionTable(workers);
        using FlowSteeringProgram? program = HostFlowSteering.TryLoad(ToeplitzHash.SymmetricKey, owners, out string? why);
        Assert.True(program is not null, why);
        Assert.Equal(RssIndirectionTable.DefaultSize, program.Entries);
        var spread = new int[workers];
        foreach (byte[] frame in Frames())
        {
            int owner = Owner(owners, frame);
            uint queue = program.Run(frame);
            Assert.True(owner == (int)queue, $"{Convert.ToHexString(frame.AsSpan(12, 30))}: the engine's worker {owner}, the program's {queue}");
            spread[owner]++;
        }
        Assert.All(spread, n => Assert.True(n > 100, $"the flows' spread over the workers: {string.Join(", ", spread)}"));
    }

    [SkippableFact]
    public void A_table_whose_entries_were_moved_is_what_the_program_follows()
    {
        RequireRoot();
        var owners = new RssIndirectionTable(2);
        for (int i = 0; i < owners.Size; i += 3)
            owners.SetEntry(i, 1 - owners.Entries[i]);
        using FlowSteeringProgram? program = HostFlowSteering.TryLoad(ToeplitzHash.SymmetricKey, owners, out string? why);
        Assert.True(program is not null, why);
        Assert.All(Frames(), frame => Assert.Equal((uint)Owner(owners, frame), program.Run(frame)));
    }

    [Fact]
    public void A_key_without_a_16_bit_period_gets_no_program_and_says_why()
    {
        // The Microsoft key is not symmetric: the tuple does not fold into 16 bits under it.
        Assert.Null(HostFlowSteering.TryLoad(ToeplitzHash.MicrosoftKey, new RssIndirectionTable(2), out string? why));
        Assert.Contains("16 bits", why, StringComparison.Ordinal);
    }
}
