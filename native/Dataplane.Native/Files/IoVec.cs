using System.Runtime.InteropServices;

namespace Dataplane.Native;

/// <summary>
/// <c>struct iovec</c> (readv(2), <c>/usr/include/x86_64-linux-gnu/bits/types/struct_iovec.h</c>):
/// a buffer's address and length, 16 bytes on x86-64. The buffer must stay pinned while the call runs.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public unsafe struct IoVec
{
    /// <summary><c>iov_base</c>: the buffer's first byte.</summary>
    [FieldOffset(0)] public void* Base;

    /// <summary><c>iov_len</c>: the buffer's length in bytes.</summary>
    [FieldOffset(8)] public nuint Length;

    /// <summary>The buffer at <paramref name="start"/> of <paramref name="length"/> bytes.</summary>
    public IoVec(void* start, nuint length)
    {
        Base = start;
        Length = length;
    }
}
