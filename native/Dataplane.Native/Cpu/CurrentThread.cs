using static Tmds.Linux.LibC;

namespace Dataplane.Native;

/// <summary>
/// The calling OS thread, for pinned per-core workers: its kernel thread id, the CPU it runs on, and
/// its CPU affinity (sched_setaffinity(2) with pid 0, which means the calling thread, not the process).
/// A .NET thread is one OS thread for its whole life, so a pin set here lasts until the thread ends.
/// </summary>
public static unsafe class CurrentThread
{
    /// <summary>CPU_SETSIZE (<c>/usr/include/x86_64-linux-gnu/bits/cpu-set.h</c>): CPUs a glibc cpu_set_t holds.</summary>
    public const int CpuSetSize = 1024;

    private const int MaskWords = CpuSetSize / 64;

    /// <summary>gettid(2): the kernel's id of this thread (what <c>ps -L</c> and <c>/proc/PID/task</c> show).</summary>
    public static int Id => Libc.gettid();

    /// <summary>sched_getcpu(3): the CPU this thread is running on now, or -1 (it may move right after unless pinned).</summary>
    public static int Cpu => sched_getcpu();

    /// <summary>
    /// ru_nivcsw of getrusage(2) with RUSAGE_THREAD: how many times this thread was switched out while
    /// it could have run on (preempted by another task, or its time slice over), since it started;
    /// or <c>-errno</c> (the data-path convention: an idle worker asks before each sleep, and must not throw).
    /// </summary>
    public static long InvoluntarySwitches
    {
        get
        {
            // struct rusage on 64-bit Linux: two timevals (4 longs), then 14 longs, ru_nivcsw the last.
            long* usage = stackalloc long[RusageLongs];
            int result = SystemCall.Result(Libc.getrusage(RusageThread, usage));
            return result < 0 ? result : usage[RusageLongs - 1];
        }
    }

    private const int RusageThread = 1; // RUSAGE_THREAD, <bits/resource.h>
    private const int RusageLongs = 18; // sizeof(struct rusage) / 8

    /// <summary>Pins this thread to <paramref name="cpu"/> alone. EINVAL if the CPU is offline or outside the cpuset.</summary>
    public static void PinToCpu(int cpu) => SetAffinity([cpu]);

    /// <summary>sched_setaffinity(2): this thread may run on <paramref name="cpus"/> only.</summary>
    public static void SetAffinity(ReadOnlySpan<int> cpus)
    {
        ulong* mask = stackalloc ulong[MaskWords];
        new Span<ulong>(mask, MaskWords).Clear();
        foreach (int cpu in cpus)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(cpu, nameof(cpus));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(cpu, CpuSetSize, nameof(cpus));
            mask[cpu / 64] |= 1UL << (cpu % 64);
        }
        int result = sched_setaffinity(0, MaskWords * sizeof(ulong), (Tmds.Linux.cpu_set_t*)mask);
        NativeException.ThrowIfFailed(result, $"sched_setaffinity({string.Join(',', cpus.ToArray())})");
    }

    /// <summary>sched_getaffinity(2): the CPUs this thread may run on, ascending.</summary>
    public static int[] GetAffinity()
    {
        ulong* mask = stackalloc ulong[MaskWords];
        new Span<ulong>(mask, MaskWords).Clear();
        int result = sched_getaffinity(0, MaskWords * sizeof(ulong), (Tmds.Linux.cpu_set_t*)mask);
        NativeException.ThrowIfFailed(result, "sched_getaffinity");
        var cpus = new List<int>();
        for (int cpu = 0; cpu < CpuSetSize; cpu++)
        {
            if ((mask[cpu / 64] & (1UL << (cpu % 64))) != 0)
                cpus.Add(cpu);
        }
        return [.. cpus];
    }
}
