using System.Buffers.Binary;

namespace Dataplane.Wire.Tests.Captures;

/// <summary>One captured packet: when it was seen, its bytes, and its length on the wire.</summary>
/// <param name="Timestamp">Capture time, to the file's precision (microseconds or nanoseconds, truncated to 100 ns ticks).</param>
/// <param name="Frame">The captured bytes; whole when <see cref="IsTruncated"/> is false.</param>
/// <param name="OriginalLength">The packet's length on the wire.</param>
public sealed record PcapRecord(DateTimeOffset Timestamp, byte[] Frame, int OriginalLength)
{
    /// <summary>The snapshot length cut the packet short.</summary>
    public bool IsTruncated => Frame.Length < OriginalLength;
}

/// <summary>
/// A minimal reader of classic libpcap files (what <c>tcpdump -w</c> writes), for tests that replay
/// real traffic. Either byte order, microsecond or nanosecond timestamps. Not pcapng.
/// </summary>
public sealed class PcapReader
{
    /// <summary>LINKTYPE_ETHERNET: frames start with the Ethernet header.</summary>
    public const int LinkTypeEthernet = 1;

    private const int FileHeaderLength = 24;
    private const int RecordHeaderLength = 16;
    private const uint MagicMicroseconds = 0xA1B2C3D4;
    private const uint MagicNanoseconds = 0xA1B23C4D;

    private readonly byte[] _file;
    private readonly bool _bigEndian;

    /// <summary>Reads the file header of <paramref name="file"/>; throws <see cref="InvalidDataException"/> if it is not classic pcap.</summary>
    public PcapReader(byte[] file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (file.Length < FileHeaderLength)
            throw new InvalidDataException($"pcap: {file.Length} bytes is shorter than the file header");
        _file = file;

        // The writer stores the magic number in its own byte order; reading it little-endian tells us which.
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(file);
        if (magic is MagicMicroseconds or MagicNanoseconds)
            _bigEndian = false;
        else if (BinaryPrimitives.ReverseEndianness(magic) is MagicMicroseconds or MagicNanoseconds)
            _bigEndian = true;
        else
            throw new InvalidDataException($"pcap: unknown magic number 0x{magic:x8} (pcapng is not supported)");

        IsNanosecond = (_bigEndian ? BinaryPrimitives.ReverseEndianness(magic) : magic) == MagicNanoseconds;
        VersionMajor = ReadUInt16(4);
        VersionMinor = ReadUInt16(6);
        SnapLength = (int)Math.Min(ReadUInt32(16), int.MaxValue);
        // The upper bits of the link-type field carry FCS information (pcap spec, LinkType and additional information).
        LinkType = (int)(ReadUInt32(20) & 0xFFFF);
    }

    /// <summary>Reads a whole file.</summary>
    public static PcapReader Open(string path) => new(File.ReadAllBytes(path));

    /// <summary>Timestamps have nanosecond (not microsecond) fractions.</summary>
    public bool IsNanosecond { get; }

    /// <summary>The file format's major version (2).</summary>
    public int VersionMajor { get; }

    /// <summary>The file format's minor version (4).</summary>
    public int VersionMinor { get; }

    /// <summary>The longest a captured frame can be; longer packets were cut.</summary>
    public int SnapLength { get; }

    /// <summary>The LINKTYPE_ value of every record, e.g. <see cref="LinkTypeEthernet"/>.</summary>
    public int LinkType { get; }

    /// <summary>The packet records in file order. Throws <see cref="InvalidDataException"/> at a truncated record.</summary>
    public IEnumerable<PcapRecord> Records()
    {
        int offset = FileHeaderLength;
        while (offset < _file.Length)
        {
            if (_file.Length - offset < RecordHeaderLength)
                throw new InvalidDataException($"pcap: record header at offset {offset} is cut short");
            uint seconds = ReadUInt32(offset);
            uint fraction = ReadUInt32(offset + 4);
            uint included = ReadUInt32(offset + 8);
            uint original = ReadUInt32(offset + 12);
            offset += RecordHeaderLength;
            if (included > (uint)(_file.Length - offset))
                throw new InvalidDataException($"pcap: record at offset {offset - RecordHeaderLength} claims {included} bytes, {_file.Length - offset} left");

            long ticks = seconds * TimeSpan.TicksPerSecond
                + (IsNanosecond ? fraction / 100 : fraction * (TimeSpan.TicksPerMillisecond / 1000));
            byte[] frame = _file.AsSpan(offset, (int)included).ToArray();
            offset += (int)included;
            yield return new PcapRecord(DateTimeOffset.UnixEpoch.AddTicks(ticks), frame, (int)Math.Min(original, int.MaxValue));
        }
    }

    private ushort ReadUInt16(int offset) => _bigEndian
        ? BinaryPrimitives.ReadUInt16BigEndian(_file.AsSpan(offset))
        : BinaryPrimitives.ReadUInt16LittleEndian(_file.AsSpan(offset));

    private uint ReadUInt32(int offset) => _bigEndian
        ? BinaryPrimitives.ReadUInt32BigEndian(_file.AsSpan(offset))
        : BinaryPrimitives.ReadUInt32LittleEndian(_file.AsSpan(offset));
}
