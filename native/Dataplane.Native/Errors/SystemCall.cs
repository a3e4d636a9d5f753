using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Native;

/// <summary>The data-path convention: a libc result (-1 and errno on failure) as <c>result</c> or <c>-errno</c>.</summary>
internal static class SystemCall
{
    /// <summary><paramref name="result"/> if not negative, otherwise <c>-errno</c> of the call just made.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint Result(nint result) => result >= 0 ? result : -Marshal.GetLastPInvokeError();

    /// <summary><paramref name="result"/> if not negative, otherwise <c>-errno</c> of the call just made.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Result(int result) => result >= 0 ? result : -Marshal.GetLastPInvokeError();
}
