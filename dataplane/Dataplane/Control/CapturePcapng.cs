using System.Buffers.Binary;
using System.Text;

namespace Dataplane.Control;

/// <summary>
/// Writes a pcapng file (draft-ietf-opsawg-pcapng): one Section Header Block, one Interface
/// Description Block for an Ethernet port with nanosecond timestamps, then one Enhanced Packet Block
/// per frame. Little-endian, which the byte-order magic tells readers.
/// </summary>
internal sealed class CapturePcapng : IDisposable
{
    /// <summary>LINKTYPE_ETHERNET.</summary>
    public const ushort LinkTypeEthernet = 1;

    /// <summary>The snap length the interface block announces; longer frames are cut to it.</summary>
    public const int SnapLength = 65535;

    /// <summary>Block types.</summary>
    public const uint SectionHeaderType = 0x0A0D0D0A, InterfaceDescriptionType = 1, EnhancedPacketType = 6;

    private const uint ByteOrderMagic = 0x1A2B3C4D;
    private const ushort OptEndOfOpt = 0, OptIfName = 2, OptIfTsResol = 9, OptEpbFlags = 2;

    private readonly Stream _stream;
    private byte[] _block = new byte[256];

    /// <summary>Starts a file on <paramref name="stream"/> for the interface named <paramref name="interfaceName"/>; it owns the stream.</summary>
    public CapturePcapng(Stream stream, string interfaceName)
    {
        _stream = stream;
        WriteSectionHeader();
        WriteInterfaceDescription(interfaceName);
    }

    private void WriteSectionHeader()
    {
        Span<byte> b = stackalloc byte[28];
        BinaryPrimitives.WriteUInt32LittleEndian(b, SectionHeaderType);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], 28);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], ByteOrderMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(b[12..], 1); // major
        BinaryPrimitives.WriteUInt16LittleEndian(b[14..], 0); // minor
        BinaryPrimitives.WriteInt64LittleEndian(b[16..], -1); // section length: not given
        BinaryPrimitives.WriteUInt32LittleEndian(b[24..], 28);
        _stream.Write(b);
    }

    private void WriteInterfaceDescription(string name)
    {
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        int nameOption = 4 + Pad4(nameBytes.Length);
        int length = 8 + 8 + nameOption + (4 + 4) + 4 + 4;
        Span<byte> b = new byte[length];
        BinaryPrimitives.WriteUInt32LittleEndian(b, InterfaceDescriptionType);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], (uint)length);
        BinaryPrimitives.WriteUInt16LittleEndian(b[8..], LinkTypeEthernet);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], SnapLength);
        int at = 16;
        BinaryPrimitives.WriteUInt16LittleEndian(b[at..], OptIfName);
        BinaryPrimitives.WriteUInt16LittleEndian(b[(at + 2)..], (ushort)nameBytes.Length);
        nameBytes.CopyTo(b[(at + 4)..]);
        at += nameOption;
        BinaryPrimitives.WriteUInt16LittleEndian(b[at..], OptIfTsResol);
        BinaryPrimitives.WriteUInt16LittleEndian(b[(at + 2)..], 1);
        b[at + 4] = 9; // 10^-9 s
        at += 8;
        BinaryPrimitives.WriteUInt16LittleEndian(b[at..], OptEndOfOpt);
        at += 4;
        BinaryPrimitives.WriteUInt32LittleEndian(b[at..], (uint)length);
        _stream.Write(b);
    }

    /// <summary>Begins a packet block of <paramref name="captured"/> bytes; fill the span it returns, then <see cref="EndPacket"/>.</summary>
    public Span<byte> BeginPacket(long unixNanoseconds, int captured, int originalLength)
    {
        int length = 28 + Pad4(captured) + 12 + 4;
        if (_block.Length < length)
            _block = new byte[Math.Max(length, _block.Length * 2)];
        Span<byte> b = _block.AsSpan(0, length);
        b.Clear();
        ulong ts = (ulong)unixNanoseconds;
        BinaryPrimitives.WriteUInt32LittleEndian(b, EnhancedPacketType);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], (uint)length);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], 0); // interface 0
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], (uint)(ts >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(b[16..], (uint)ts);
        BinaryPrimitives.WriteUInt32LittleEndian(b[20..], (uint)captured);
        BinaryPrimitives.WriteUInt32LittleEndian(b[24..], (uint)originalLength);
        _pending = length;
        _captured = captured;
        return b.Slice(28, captured);
    }

    private int _pending;
    private int _captured;

    /// <summary>Ends the packet begun by <see cref="BeginPacket"/> with its direction and writes the block.</summary>
    public void EndPacket(bool outbound)
    {
        Span<byte> b = _block.AsSpan(0, _pending);
        int at = 28 + Pad4(_captured);
        BinaryPrimitives.WriteUInt16LittleEndian(b[at..], OptEpbFlags);
        BinaryPrimitives.WriteUInt16LittleEndian(b[(at + 2)..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(b[(at + 4)..], outbound ? 2u : 1u); // direction: 01 inbound, 10 outbound
        at += 8;
        BinaryPrimitives.WriteUInt32LittleEndian(b[at..], OptEndOfOpt);
        at += 4;
        BinaryPrimitives.WriteUInt32LittleEndian(b[at..], (uint)_pending);
        _stream.Write(b);
    }

    private static int Pad4(int n) => (n + 3) & ~3;

    /// <inheritdoc/>
    public void Dispose() => _stream.Dispose();
}
