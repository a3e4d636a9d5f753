using System.Buffers.Binary;
using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace Dataplane.Wire;

/// <summary>
/// Unchecked reads and writes at an offset from a reference, for generated views: a view's
/// <c>TryCreate</c> has already checked that every fixed field lies inside the buffer, so the
/// accessors do not check again.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class WireAccess
{
    /// <summary>Reads one byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte ReadUInt8(ref byte b, nint offset) => Unsafe.Add(ref b, offset);

    /// <summary>Writes one byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteUInt8(ref byte b, nint offset, byte value) => Unsafe.Add(ref b, offset) = value;

    /// <summary>Reads a big-endian 16-bit value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort ReadUInt16BigEndian(ref byte b, nint offset) => Big(Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref b, offset)));

    /// <summary>Writes a big-endian 16-bit value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteUInt16BigEndian(ref byte b, nint offset, ushort value) => Unsafe.WriteUnaligned(ref Unsafe.Add(ref b, offset), Big(value));

    /// <summary>Reads a big-endian 32-bit value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint ReadUInt32BigEndian(ref byte b, nint offset) => Big(Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref b, offset)));

    /// <summary>Writes a big-endian 32-bit value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteUInt32BigEndian(ref byte b, nint offset, uint value) => Unsafe.WriteUnaligned(ref Unsafe.Add(ref b, offset), Big(value));

    /// <summary>Reads a big-endian 64-bit value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ReadUInt64BigEndian(ref byte b, nint offset) => Big(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref b, offset)));

    /// <summary>Writes a big-endian 64-bit value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteUInt64BigEndian(ref byte b, nint offset, ulong value) => Unsafe.WriteUnaligned(ref Unsafe.Add(ref b, offset), Big(value));

    /// <summary>Reads a little-endian 16-bit value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort ReadUInt16LittleEndian(ref byte b, nint offset) => Little(Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref b, offset)));

    /// <summary>Writes a little-endian 16-bit value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteUInt16LittleEndian(ref byte b, nint offset, ushort value) => Unsafe.WriteUnaligned(ref Unsafe.Add(ref b, offset), Little(value));

    /// <summary>Reads a little-endian 32-bit value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint ReadUInt32LittleEndian(ref byte b, nint offset) => Little(Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref b, offset)));

    /// <summary>Writes a little-endian 32-bit value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteUInt32LittleEndian(ref byte b, nint offset, uint value) => Unsafe.WriteUnaligned(ref Unsafe.Add(ref b, offset), Little(value));

    /// <summary>Reads a little-endian 64-bit value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ReadUInt64LittleEndian(ref byte b, nint offset) => Little(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref b, offset)));

    /// <summary>Writes a little-endian 64-bit value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteUInt64LittleEndian(ref byte b, nint offset, ulong value) => Unsafe.WriteUnaligned(ref Unsafe.Add(ref b, offset), Little(value));

    /// <summary>Reads a value kept in wire order (an address) as a raw copy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T ReadValue<T>(ref byte b, nint offset) where T : unmanaged => Unsafe.ReadUnaligned<T>(ref Unsafe.Add(ref b, offset));

    /// <summary>Writes a value kept in wire order (an address) as a raw copy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteValue<T>(ref byte b, nint offset, T value) where T : unmanaged => Unsafe.WriteUnaligned(ref Unsafe.Add(ref b, offset), value);

    // Inlined by hand: NativeAOT's inliner left these as calls (six a forwarded packet), where the
    // JIT inlined them.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ushort Big(ushort v) => BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(v) : v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Big(uint v) => BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(v) : v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Big(ulong v) => BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(v) : v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ushort Little(ushort v) => BitConverter.IsLittleEndian ? v : BinaryPrimitives.ReverseEndianness(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Little(uint v) => BitConverter.IsLittleEndian ? v : BinaryPrimitives.ReverseEndianness(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Little(ulong v) => BitConverter.IsLittleEndian ? v : BinaryPrimitives.ReverseEndianness(v);
}
