using System.Buffers.Binary;
using Dataplane.Conformance.Labs;
using Dataplane.Conformance.Running;
using Dataplane.Labs;

namespace Dataplane.Conformance.Tests.Running;

/// <summary>tshark as the judge of captured frames: what counts as a bad checksum from the system under test. Needs tshark.</summary>
public sealed class CaptureJudgeTests : IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"dataplane-judge-{Environment.ProcessId}-{Guid.NewGuid():N}.pcap");

    [SkippableFact]
    public async Task A_tcp_checksum_of_all_ones_for_a_computed_zero_is_not_bad_and_a_wrong_one_is()
    {
        string? missing = NetnsLab.Missing("tshark");
        Skip.If(missing is not null, missing);
        // Frame 1: TCP whose checksum computes to 0x0000, sent as 0xFFFF (Linux's skb_checksum_help
        // does so; a CI run judged the dataplane for forwarding it). Frame 2: the same as 0x0000.
        // Frame 3: a wrong checksum.
        byte[] zero = Ipv6TcpAck(out ushort _);
        byte[] ones = (byte[])zero.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(ones.AsSpan(14 + 40 + 16), 0xFFFF);
        byte[] wrong = (byte[])zero.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(wrong.AsSpan(14 + 40 + 16), 0x1234);
        WritePcap(_file, ones, zero, wrong);

        (CommandResult bad, int _) = await CaptureCheck.JudgeAsync("tshark", _file, "02:00:00:00:00:01", judgeChecksums: true, CancellationToken.None);

        Assert.Equal(0, bad.ExitCode);
        string[] lines = bad.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1 && lines[0].StartsWith("3\t", StringComparison.Ordinal), bad.Output);
    }

    [SkippableFact]
    public async Task A_partial_tcp_checksum_the_pseudo_header_sum_is_not_bad_and_one_off_by_one_is()
    {
        string? missing = NetnsLab.Missing("tshark");
        Skip.If(missing is not null, missing);
        // What a tap or veth carries with NEEDS_CSUM: the pseudo-header sum, folded, not complemented.
        byte[] partial = Ipv6TcpAck(out ushort _);
        ushort pseudo = Fold(Sum(partial.AsSpan(14 + 8, 32)) + 20 + 6);
        BinaryPrimitives.WriteUInt16BigEndian(partial.AsSpan(14 + 40 + 16), pseudo);
        byte[] off = (byte[])partial.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(off.AsSpan(14 + 40 + 16), (ushort)(pseudo + 1));
        WritePcap(_file, partial, off);

        (CommandResult bad, int partials) = await CaptureCheck.JudgeAsync("tshark", _file, "02:00:00:00:00:01", judgeChecksums: true, CancellationToken.None);

        Assert.Equal(0, bad.ExitCode);
        string[] lines = bad.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1 && lines[0].StartsWith("2\t", StringComparison.Ordinal), bad.Output);
        Assert.Equal(1, partials);
    }

    [SkippableFact]
    public async Task The_judge_reads_test_payloads_as_data_not_as_a_protocol_a_heuristic_guesses()
    {
        string? missing = NetnsLab.Missing("tshark");
        Skip.If(missing is not null, missing);
        // A TCP segment to iperf3's port whose payload starts as a Thrift call would: Thrift's
        // heuristic claims it. A CI run judged Linux for a 64 KiB iperf3 segment of random bytes
        // that Thrift's heuristic took and found malformed.
        const string Frame = "02020202020202000000000286dd600000000030063ffdd7e83e66bd10120000000000000004fdd7e83e66bd10110000000000000001"
            + "aafc14510000000100000001501807c4ca6e0000800100010000000470696e67000000010c00010b00027fffffff7879";
        WritePcap(_file, Convert.FromHexString(Frame));
        string heuristics = await CaptureCheck.PayloadHeuristicsOffAsync("tshark", CancellationToken.None);
        Assert.Contains(" --disable-protocol thrift", heuristics, StringComparison.Ordinal);

        string With(string options) => LinuxLabRun($"tshark -r {_file}{options} -T fields -e frame.protocols");
        Assert.Equal("eth:ethertype:ipv6:tcp:thrift", With(""));
        Assert.Equal("eth:ethertype:ipv6:tcp:data", With(heuristics));
    }

    private static string LinuxLabRun(string command)
    {
        var (exitCode, output) = NetnsLab.Execute("sh", "-c", command + " 2>/dev/null");
        Assert.True(exitCode == 0, $"{command}: exit {exitCode}: {output}");
        return output.Trim();
    }

    [Fact]
    public void A_partial_checksum_is_the_folded_pseudo_header_sum_with_the_segments_length()
    {
        // 10.10.11.1 -> 10.10.12.4, TCP, 1460 bytes: 0x0a0a + 0x0b01 + 0x0a0a + 0x0c04 + 6 + 1460 = 0x30D3.
        var s = System.Net.IPAddress.Parse("10.10.11.1");
        var d = System.Net.IPAddress.Parse("10.10.12.4");
        Assert.True(CaptureCheck.IsPartial(0x30D3, s, d, 6, 1460));
        Assert.False(CaptureCheck.IsPartial(0x30D3, s, d, 17, 1460));
        Assert.False(CaptureCheck.IsPartial(0x30D3, s, d, 6, 1461));
        // A super-frame's: its whole length; 0x1157F folds to 0x1580.
        Assert.True(CaptureCheck.IsPartial(0x1580, s, d, 6, 60000));
    }

    /// <summary>An Ethernet, IPv6 and TCP ACK frame from 02:00:00:00:00:02 whose TCP checksum computes to zero (the urgent pointer chosen so), with 0x0000 in the field.</summary>
    private static byte[] Ipv6TcpAck(out ushort urgent)
    {
        byte[] frame = new byte[14 + 40 + 20];
        Span<byte> f = frame;
        f[0..6].Fill(0x02); // destination 02:02:02:02:02:02
        f[6..12].Clear();
        f[6] = 0x02;
        f[11] = 0x02; // source 02:00:00:00:00:02
        BinaryPrimitives.WriteUInt16BigEndian(f[12..], 0x86DD);
        Span<byte> ip = f[14..];
        ip[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], 20); // payload length
        ip[6] = 6; // TCP
        ip[7] = 63;
        byte[] src = [0xfd, 0xd7, 0xe8, 0x3e, 0x66, 0xbd, 0x10, 0x12, 0, 0, 0, 0, 0, 0, 0, 4];
        byte[] dst = [0xfd, 0xd7, 0xe8, 0x3e, 0x66, 0xbd, 0x10, 0x11, 0, 0, 0, 0, 0, 0, 0, 1];
        src.CopyTo(ip[8..]);
        dst.CopyTo(ip[24..]);
        Span<byte> tcp = ip[40..];
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 5201);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], 60718);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], 1);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], 1121018);
        tcp[12] = 5 << 4;
        tcp[13] = 0x10; // ACK
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 1988);
        // The sum over pseudo-header and segment with a zero urgent pointer; the urgent pointer that
        // brings it to 0xFFFF makes the checksum 0x0000.
        uint sum = Sum(ip[8..40]) + 20 + 6 + Sum(tcp);
        ushort folded = Fold(sum);
        urgent = (ushort)~folded;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[18..], urgent);
        Assert.Equal(0xFFFF, Fold(Sum(ip[8..40]) + 20 + 6 + Sum(tcp)));
        return frame;
    }

    private static uint Sum(ReadOnlySpan<byte> bytes)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < bytes.Length; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(bytes[i..]);
        return sum;
    }

    private static ushort Fold(uint sum)
    {
        while (sum > 0xFFFF)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    private static void WritePcap(string path, params byte[][] frames)
    {
        using var file = new BinaryWriter(File.Create(path));
        file.Write(0xa1b2c3d4u);
        file.Write((ushort)2);
        file.Write((ushort)4);
        file.Write(0); // this zone
        file.Write(0u); // sigfigs
        file.Write(65535u); // snaplen
        file.Write(1u); // Ethernet
        uint second = 1;
        foreach (byte[] frame in frames)
        {
            file.Write(second++);
            file.Write(0u);
            file.Write((uint)frame.Length);
            file.Write((uint)frame.Length);
            file.Write(frame);
        }
    }

    public void Dispose() => File.Delete(_file);
}
