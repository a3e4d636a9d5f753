using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Native;

/// <summary>
/// Spans over memory that never moves (a pinned array, a mapping), by address: the primitive that
/// lets safe code above this project index packet memory without pointers. The caller guarantees
/// that the range lies inside memory it keeps alive; nothing here can check that.
/// </summary>
public static unsafe class PinnedAddress
{
    /// <summary><paramref name="length"/> bytes at <paramref name="address"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Span<byte> Span(nint address, int length) => new((void*)address, length);

    /// <summary>
    /// <paramref name="length"/> bytes at <paramref name="address"/>: a length that cannot be negative,
    /// so the span is made without the test for one (a buffer's data length, on every packet's way).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Span<byte> Span(nint address, ushort length) => MemoryMarshal.CreateSpan(ref *(byte*)address, length);

    /// <summary>The <typeparamref name="T"/> at <paramref name="address"/>, by reference.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref T Ref<T>(nint address) where T : unmanaged => ref *(T*)address;

    /// <summary>The address of the first byte of <paramref name="memory"/>.</summary>
    public static nint Of(PinnedMemory memory) => (nint)memory.Pointer;
}
