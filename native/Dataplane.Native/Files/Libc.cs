using System.Runtime.InteropServices;

namespace Dataplane.Native;

/// <summary>
/// The libc functions Tmds.LibC 0.5.0 does not declare, as source-generated P/Invokes that capture
/// errno (<c>SetLastError = true</c>). Everything else comes from <c>Tmds.Linux.LibC</c>.
/// </summary>
internal static unsafe partial class Libc
{
    // glibc's soname, as Tmds.LibC names it. "libc" also resolves in the end, but only after the loader
    // has searched the library path for "libc.so" (with libc6-dev installed, a linker script it cannot load).
    private const string Library = "libc.so.6";

    /// <summary>readv(2): scatter input into <paramref name="count"/> buffers.</summary>
    [LibraryImport(Library, EntryPoint = "readv", SetLastError = true)]
    public static partial nint readv(int fd, IoVec* iov, int count);

    /// <summary>writev(2): gather output from <paramref name="count"/> buffers.</summary>
    [LibraryImport(Library, EntryPoint = "writev", SetLastError = true)]
    public static partial nint writev(int fd, IoVec* iov, int count);

    /// <summary>if_nametoindex(3): the interface index of a name, 0 (errno ENODEV) if there is none.</summary>
    [LibraryImport(Library, EntryPoint = "if_nametoindex", SetLastError = true)]
    public static partial uint if_nametoindex(byte* name);

    /// <summary>
    /// syscall(2) with three arguments, for a system call glibc does not wrap, such as bpf(2):
    /// the call's result or -1 with errno. syscall(2) is variadic in C; declaring it with fixed
    /// <c>long</c>-sized arguments is sound on x86-64 only because the System V ABI passes variadic
    /// integer arguments in the same registers (rdi, rsi, rdx, rcx) and glibc's syscall.S reads
    /// nothing else (not al, the vector-register count a variadic callee may read).
    /// </summary>
    [LibraryImport(Library, EntryPoint = "syscall", SetLastError = true)]
    public static partial nint syscall(nint number, nint argument1, void* argument2, nint argument3);

    /// <summary>getrandom(2) (glibc 2.25 and later): up to <paramref name="length"/> bytes from the kernel's random source.</summary>
    [LibraryImport(Library, EntryPoint = "getrandom", SetLastError = true)]
    public static partial nint getrandom(byte* buffer, nuint length, uint flags);

    /// <summary>gettid(2) (glibc 2.30 and later): the calling thread's kernel thread id.</summary>
    [LibraryImport(Library, EntryPoint = "gettid")]
    public static partial int gettid();

    /// <summary>getrusage(2): resource usage of the process, its children, or (RUSAGE_THREAD, 1) the calling thread.</summary>
    [LibraryImport(Library, EntryPoint = "getrusage", SetLastError = true)]
    public static partial int getrusage(int who, long* usage);
}
