using System.Buffers.Binary;
using Dataplane.Wire;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// A TCP segment as a test writes it or reads it back, smoltcp's <c>TcpRepr</c> for these tests:
/// the header fields, the options the stack knows (MSS, window scale, SACK-permitted, timestamps,
/// SACK blocks) and the payload. Encoded and parsed here byte by byte, independently of the
/// stack's own <see cref="TcpOptions"/>, so that the two can disagree.
/// </summary>
internal sealed record TcpSeg
{
    public ushort SourcePort { get; init; }

    public ushort DestinationPort { get; init; }

    public uint Seq { get; init; }

    public uint Ack { get; init; }

    public TcpFlags Flags { get; init; }

    public ushort Window { get; init; } = 65535;

    public ushort Urgent { get; init; }

    public byte[] Payload { get; init; } = [];

    public ushort? Mss { get; init; }

    public byte? WindowScale { get; init; }

    public bool SackPermitted { get; init; }

    public (uint Value, uint Echo)? Timestamps { get; init; }

    public (uint Left, uint Right)[] Sack { get; init; } = [];

    /// <summary>Option bytes written as given instead of the options above (malformed ones, for the input checks).</summary>
    public byte[]? RawOptions { get; init; }

    /// <summary>A data offset written as given instead of the header's length (bad ones, for the input checks).</summary>
    public int? DataOffsetWords { get; init; }

    /// <summary>The header's length in bytes, options included (as parsed, or as it will be encoded).</summary>
    public int HeaderLength { get; init; }

    /// <summary>SEG.LEN: the payload, and one each for SYN and FIN (RFC 9293 3.4).</summary>
    public int SequenceLength => Payload.Length + (Has(TcpFlags.Syn) ? 1 : 0) + (Has(TcpFlags.Fin) ? 1 : 0);

    public bool Has(TcpFlags flag) => (Flags & flag) == flag;

    /// <summary>The segment's bytes, the checksum left zero.</summary>
    public byte[] Encode()
    {
        byte[] options = RawOptions ?? EncodeOptions();
        int header = 20 + options.Length;
        byte[] t = new byte[header + Payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(t, SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(2), DestinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(4), Seq);
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(8), Ack);
        t[12] = (byte)((DataOffsetWords ?? header / 4) << 4 | ((ushort)Flags >> 8 & 1));
        t[13] = (byte)Flags;
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(14), Window);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(18), Urgent);
        options.CopyTo(t.AsSpan(20));
        Payload.CopyTo(t.AsSpan(header));
        return t;
    }

    private byte[] EncodeOptions()
    {
        var o = new List<byte>();
        if (Mss is ushort mss)
            o.AddRange([2, 4, (byte)(mss >> 8), (byte)mss]);
        if (WindowScale is byte shift)
            o.AddRange([1, 3, 3, shift]);
        if (SackPermitted)
            o.AddRange([1, 1, 4, 2]);
        if (Timestamps is var (value, echo))
        {
            o.AddRange([1, 1, 8, 10]);
            o.AddRange(BigEndian(value));
            o.AddRange(BigEndian(echo));
        }
        if (Sack.Length > 0)
        {
            o.AddRange([1, 1, 5, (byte)(2 + 8 * Sack.Length)]);
            foreach ((uint left, uint right) in Sack)
            {
                o.AddRange(BigEndian(left));
                o.AddRange(BigEndian(right));
            }
        }
        Assert.True(o.Count % 4 == 0 && o.Count <= 40);
        return [.. o];
    }

    private static byte[] BigEndian(uint value)
    {
        byte[] b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        return b;
    }

    /// <summary>Parses a segment the stack sent (its checksum checked by the caller); fails the test on a malformed one.</summary>
    public static TcpSeg Parse(ReadOnlySpan<byte> t)
    {
        Assert.True(t.Length >= 20, "a TCP segment shorter than its fixed header");
        int header = (t[12] >> 4) * 4;
        Assert.InRange(header, 20, t.Length);
        ushort? mss = null;
        byte? shift = null;
        bool sackPermitted = false;
        (uint, uint)? timestamps = null;
        var sack = new List<(uint, uint)>();
        ReadOnlySpan<byte> options = t[20..header];
        for (int i = 0; i < options.Length;)
        {
            byte kind = options[i];
            if (kind == 0)
                break;
            if (kind == 1)
            {
                i++;
                continue;
            }
            Assert.True(i + 1 < options.Length, "an option without its length");
            int length = options[i + 1];
            Assert.InRange(length, 2, options.Length - i);
            ReadOnlySpan<byte> data = options.Slice(i + 2, length - 2);
            switch (kind)
            {
                case 2:
                    Assert.Equal(2, data.Length);
                    mss = BinaryPrimitives.ReadUInt16BigEndian(data);
                    break;
                case 3:
                    Assert.Single(data.ToArray());
                    shift = data[0];
                    break;
                case 4:
                    Assert.Equal(0, data.Length);
                    sackPermitted = true;
                    break;
                case 5:
                    Assert.True(data.Length % 8 == 0 && data.Length > 0);
                    for (int b = 0; b < data.Length; b += 8)
                        sack.Add((BinaryPrimitives.ReadUInt32BigEndian(data[b..]), BinaryPrimitives.ReadUInt32BigEndian(data[(b + 4)..])));
                    break;
                case 8:
                    Assert.Equal(8, data.Length);
                    timestamps = (BinaryPrimitives.ReadUInt32BigEndian(data), BinaryPrimitives.ReadUInt32BigEndian(data[4..]));
                    break;
            }
            i += length;
        }
        return new TcpSeg
        {
            SourcePort = BinaryPrimitives.ReadUInt16BigEndian(t),
            DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(t[2..]),
            Seq = BinaryPrimitives.ReadUInt32BigEndian(t[4..]),
            Ack = BinaryPrimitives.ReadUInt32BigEndian(t[8..]),
            Flags = (TcpFlags)((t[12] & 1) << 8 | t[13]),
            Window = BinaryPrimitives.ReadUInt16BigEndian(t[14..]),
            Urgent = BinaryPrimitives.ReadUInt16BigEndian(t[18..]),
            HeaderLength = header,
            Payload = t[header..].ToArray(),
            Mss = mss,
            WindowScale = shift,
            SackPermitted = sackPermitted,
            Timestamps = timestamps,
            Sack = [.. sack],
        };
    }

    /// <summary>As tcpdump would print it, for failure messages.</summary>
    public override string ToString()
        => $"{SourcePort} > {DestinationPort} [{Flags}] seq {Seq} ack {Ack} win {Window} len {Payload.Length}"
            + (Mss is { } m ? $" mss {m}" : "") + (WindowScale is { } w ? $" wscale {w}" : "") + (SackPermitted ? " sackOK" : "")
            + (Timestamps is var (v, e) ? $" TS val {v} ecr {e}" : "")
            + (Sack.Length > 0 ? " sack " + string.Join(' ', Sack.Select(s => $"{{{s.Left}:{s.Right}}}")) : "");
}
