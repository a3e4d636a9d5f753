using System.Runtime.CompilerServices;

namespace Dataplane.Native;

/// <summary>
/// Volatile loads and stores of device registers and DMA memory: every access happens, in program
/// order, with the width asked for (a device register may act on a read, and a 32-bit register must
/// not be written as four bytes). On x86-64 a volatile access is a plain aligned mov, and the CLR keeps
/// volatile accesses in order with each other (acquire on loads, release on stores). Offsets are
/// bounds-checked against the span; alignment to the width is the caller's (every register and
/// ring field is naturally aligned).
/// </summary>
public static class Mmio
{
    /// <summary>The byte at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte Read8(Span<byte> memory, int offset) => Volatile.Read(ref memory[offset]);

    /// <summary>The little-endian <c>u16</c> at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Read16(Span<byte> memory, int offset) => Volatile.Read(ref At<ushort>(memory, offset));

    /// <summary>The little-endian <c>u32</c> at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Read32(Span<byte> memory, int offset) => Volatile.Read(ref At<uint>(memory, offset));

    /// <summary>The little-endian <c>u64</c> at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Read64(Span<byte> memory, int offset) => Volatile.Read(ref At<ulong>(memory, offset));

    /// <summary>Stores <paramref name="value"/> at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write8(Span<byte> memory, int offset, byte value) => Volatile.Write(ref memory[offset], value);

    /// <summary>Stores <paramref name="value"/> at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write16(Span<byte> memory, int offset, ushort value) => Volatile.Write(ref At<ushort>(memory, offset), value);

    /// <summary>Stores <paramref name="value"/> at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write32(Span<byte> memory, int offset, uint value) => Volatile.Write(ref At<uint>(memory, offset), value);

    /// <summary>Stores <paramref name="value"/> at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write64(Span<byte> memory, int offset, ulong value) => Volatile.Write(ref At<ulong>(memory, offset), value);

    /// <summary>
    /// A full fence (lock-prefixed on x86-64): stores before it are seen before loads after it. The
    /// one ordering volatile accesses do not give, which virtio's event-index check needs (virtio 1.2
    /// §2.7.13: publish avail idx, then read whether the device wants a notification).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FullBarrier() => Interlocked.MemoryBarrier();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref T At<T>(Span<byte> memory, int offset) where T : unmanaged
    {
        // One check covers the whole width: offset + size within the span.
        if ((ulong)(uint)offset + (ulong)Unsafe.SizeOf<T>() > (ulong)(uint)memory.Length)
            ThrowOutside(offset, memory.Length);
        return ref Unsafe.As<byte, T>(ref Unsafe.Add(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(memory), offset));
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowOutside(int offset, int length) =>
        throw new ArgumentOutOfRangeException(nameof(offset), offset, $"outside the {length}-byte region");
}
