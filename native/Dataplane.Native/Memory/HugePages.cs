using static Tmds.Linux.LibC;

namespace Dataplane.Native;

/// <summary>
/// Anonymous memory for buffer pools and rings: 2 MiB huge pages when the system has them reserved
/// (<c>/proc/sys/vm/nr_hugepages</c>; the kernel's Documentation/admin-guide/mm/hugetlbpage.rst),
/// otherwise normal pages, faulted in up front either way so the data path takes no page fault.
/// </summary>
public static unsafe class HugePages
{
    /// <summary>The huge page size asked for: 2 MiB, x86-64's PMD size.</summary>
    public const int Size = 2 << 20;

    /// <summary>The normal page size.</summary>
    public static int NormalPageSize { get; } = Environment.SystemPageSize;

    // MAP_HUGE_2MB (linux/mman.h): log2(2 MiB) = 21 in the bits at MAP_HUGE_SHIFT (26), so the 2 MiB
    // pool is used even where the default huge page size is 1 GiB.
    private const int MapHuge2MB = 21 << 26;

    /// <summary>
    /// Maps at least <paramref name="bytes"/> bytes, read-write, private: first with MAP_HUGETLB
    /// (rounded up to 2 MiB), then, if that fails (ENOMEM when no huge page is reserved), with normal pages
    /// (rounded up to the page size). Both are populated (MAP_POPULATE). When <paramref name="lockMemory"/>
    /// is set, mlock(2) is tried too, best effort: <see cref="PinnedMemory.Locked"/> reports the result.
    /// <see cref="PinnedMemory.Pages"/> reports which kind it got. The memory starts zeroed.
    /// </summary>
    /// <exception cref="NativeException">Not even normal pages could be mapped.</exception>
    public static PinnedMemory Allocate(nuint bytes, bool lockMemory = true)
    {
        ArgumentOutOfRangeException.ThrowIfZero(bytes);
        int privateAnonymous = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE;

        nuint hugeLength = RoundUp(bytes, Size);
        void* p = mmap(null, (Tmds.Linux.size_t)(ulong)hugeLength, PROT_READ | PROT_WRITE, privateAnonymous | MAP_HUGETLB | MapHuge2MB, -1, 0);
        if (p != MAP_FAILED)
            return new PinnedMemory((byte*)p, hugeLength, PageKind.HugePages, lockMemory && Lock(p, hugeLength));

        nuint normalLength = RoundUp(bytes, (nuint)NormalPageSize);
        p = mmap(null, (Tmds.Linux.size_t)(ulong)normalLength, PROT_READ | PROT_WRITE, privateAnonymous, -1, 0);
        if (p == MAP_FAILED)
            NativeException.Throw($"mmap({normalLength} bytes, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE)", Errno.Last);
        return new PinnedMemory((byte*)p, normalLength, PageKind.NormalPages, lockMemory && Lock(p, normalLength));
    }

    /// <summary>Huge pages the system has reserved and not handed out (HugePages_Free of /proc/meminfo), or 0 if unknown.</summary>
    public static long FreeCount()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("HugePages_Free:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan("HugePages_Free:".Length).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        catch (IOException)
        {
        }
        return 0;
    }

    // mlock(2) fails with ENOMEM or EPERM past RLIMIT_MEMLOCK without CAP_IPC_LOCK: not fatal, the
    // pages are populated already and only swapping could take them away.
    private static bool Lock(void* p, nuint length) => mlock(p, (Tmds.Linux.size_t)(ulong)length) == 0;

    private static nuint RoundUp(nuint value, nuint multiple) =>
        value > nuint.MaxValue - multiple ? throw new ArgumentOutOfRangeException(nameof(value)) : (value + multiple - 1) / multiple * multiple;
}
