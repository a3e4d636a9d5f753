namespace Dataplane.Native.Tests.Cpu;

[Trait("Category", "Linux")]
public class CurrentThreadTests
{
    [SkippableFact]
    public void Pinning_to_a_cpu_makes_the_thread_run_there_and_only_there()
    {
        Support.Lab.RequireLinux();
        int[] allowed = CurrentThread.GetAffinity();
        Assert.NotEmpty(allowed);
        // A thread of its own: a pin outlives the test, and xunit's threads are shared.
        var results = new List<(int Wanted, int Ran, int[] Affinity)>();
        Exception? failure = null;
        var worker = new Thread(() =>
        {
            try
            {
                foreach (int cpu in allowed)
                {
                    CurrentThread.PinToCpu(cpu);
                    Thread.Yield();
                    results.Add((cpu, CurrentThread.Cpu, CurrentThread.GetAffinity()));
                }
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        worker.Start();
        worker.Join();

        Assert.Null(failure);
        Assert.Equal(allowed.Length, results.Count);
        foreach (var (wanted, ran, affinity) in results)
        {
            Assert.Equal(wanted, ran);
            Assert.Equal(new[] { wanted }, affinity);
        }
    }

    [SkippableFact]
    public void Pinning_leaves_the_other_threads_alone()
    {
        Support.Lab.RequireLinux();
        int[] before = CurrentThread.GetAffinity();
        var worker = new Thread(() => CurrentThread.PinToCpu(before[^1]));
        worker.Start();
        worker.Join();
        Assert.Equal(before, CurrentThread.GetAffinity());
    }

    [SkippableFact]
    public void A_cpu_outside_the_allowed_set_fails_with_EINVAL()
    {
        Support.Lab.RequireLinux();
        // sched_setaffinity(2): EINVAL when the mask holds no CPU that is online and permitted.
        Exception? failure = null;
        var worker = new Thread(() =>
        {
            try
            {
                var e = Assert.Throws<NativeException>(() => CurrentThread.PinToCpu(CurrentThread.CpuSetSize - 1));
                Assert.Equal(Errno.EINVAL, e.Errno.Number);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        worker.Start();
        worker.Join();
        Assert.Null(failure);
        Assert.Throws<ArgumentOutOfRangeException>(() => CurrentThread.PinToCpu(CurrentThread.CpuSetSize));
    }

    [SkippableFact]
    public void Id_is_the_kernel_thread_id_listed_under_proc_self_task()
    {
        Support.Lab.RequireLinux();
        int id = CurrentThread.Id;
        Assert.True(id > 0);
        Assert.True(Directory.Exists($"/proc/self/task/{id}"));
        int other = 0;
        var worker = new Thread(() => other = CurrentThread.Id);
        worker.Start();
        worker.Join();
        Assert.NotEqual(id, other);
    }

    [SkippableFact]
    public void Involuntary_switches_are_the_kernels_count_for_this_thread()
    {
        Support.Lab.RequireLinux();
        // /proc/thread-self/status counts the same switches (nonvoluntary_ctxt_switches): read it on
        // either side, since the count may grow between the reads.
        long before = NonvoluntarySwitchesFromProc();
        long switches = CurrentThread.InvoluntarySwitches;
        long after = NonvoluntarySwitchesFromProc();
        Assert.InRange(switches, before, after);
    }

    [SkippableFact]
    public void A_thread_that_shares_its_cpu_with_a_busy_one_is_switched_out_involuntarily()
    {
        Support.Lab.RequireLinux();
        int cpu = CurrentThread.GetAffinity()[^1];
        var stop = new System.Runtime.CompilerServices.StrongBox<bool>();
        Exception? failure = null;
        bool Pin()
        {
            try
            {
                CurrentThread.PinToCpu(cpu);
                return true;
            }
            catch (NativeException e)
            {
                failure = e; // said by the assertion below, not a crash of the test host
                return false;
            }
        }
        var rival = new Thread(() =>
        {
            if (!Pin())
                return;
            while (!Volatile.Read(ref stop.Value))
                Thread.SpinWait(100);
        });
        long first = -1, last = -1;
        var spinner = new Thread(() =>
        {
            if (!Pin())
                return;
            first = CurrentThread.InvoluntarySwitches;
            // Bounded: the scheduler shares the CPU within milliseconds; 10 s is for a loaded machine.
            long deadline = Environment.TickCount64 + 10_000;
            while ((last = CurrentThread.InvoluntarySwitches) == first && Environment.TickCount64 < deadline)
                Thread.SpinWait(1000);
        });
        rival.Start();
        spinner.Start();
        spinner.Join();
        Volatile.Write(ref stop.Value, true);
        rival.Join();

        Assert.Null(failure);
        Assert.True(first >= 0, $"getrusage failed: {first}");
        Assert.True(last > first, $"no involuntary switch in 10 s beside a busy thread on CPU {cpu} ({first})");
    }

    private static long NonvoluntarySwitchesFromProc()
    {
        foreach (string line in File.ReadLines("/proc/thread-self/status"))
        {
            if (line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                return long.Parse(line.AsSpan("nonvoluntary_ctxt_switches:".Length).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException("no nonvoluntary_ctxt_switches in /proc/thread-self/status");
    }
}
