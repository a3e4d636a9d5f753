
namespace Dataplane.Native.Tests.Events;

[Trait("Category", "Linux")]
public class EpollTests
{
    [SkippableFact]
    public void An_eventfd_signal_from_another_thread_wakes_epoll_wait()
    {
        Support.Lab.RequireLinux();
        using var epoll = Epoll.Create();
        using var wake = EventFd.Create();
        epoll.Add(wake.Descriptor, EpollEvents.In, data: 0xfeed_0000_0000_0001);

        // The signal comes once this thread is asleep in epoll_wait (its wchan says so): the wait is
        // woken by it, not handed an event that was there before it began.
        int waiter = CurrentThread.Id;
        bool asleep = false;
        var signaller = new Thread(() =>
        {
            asleep = NetnsLab.Until(() => InEpollWait(waiter), TimeSpan.FromSeconds(30));
            wake.Signal();
        });
        signaller.Start();
        var events = new EpollEvent[4];
        int n = epoll.Wait(events, 60_000); // a bound, not a measure: without the event the wait ends with 0
        signaller.Join();

        Assert.True(asleep, "the waiting thread was never seen asleep in epoll_wait");
        Assert.Equal(1, n);
        Assert.Equal(EpollEvents.In, events[0].Events);
        Assert.Equal(0xfeed_0000_0000_0001UL, events[0].Data);
        Assert.Equal(1UL, wake.Drain());
    }

    /// <summary>Whether thread <paramref name="thread"/> of this process sleeps in epoll_wait (do_epoll_wait in its /proc wchan).</summary>
    private static bool InEpollWait(int thread) =>
        File.ReadAllText($"/proc/self/task/{thread}/wchan").Contains("epoll", StringComparison.Ordinal);

    [SkippableFact]
    public void Wait_with_nothing_ready_times_out_with_0()
    {
        Support.Lab.RequireLinux();
        using var epoll = Epoll.Create();
        using var wake = EventFd.Create();
        epoll.Add(wake.Descriptor, EpollEvents.In, 1);
        Span<EpollEvent> events = stackalloc EpollEvent[2];
        Assert.Equal(0, epoll.Wait(events, 0));
        Assert.Equal(0, epoll.Wait(events, 20));
    }

    [SkippableFact]
    public void Drain_returns_the_summed_signals_once_and_then_0()
    {
        Support.Lab.RequireLinux();
        using var wake = EventFd.Create();
        Assert.Equal(8, wake.Signal(2));
        Assert.Equal(8, wake.Signal(3));
        Assert.Equal(5UL, wake.Drain());
        Assert.Equal(0UL, wake.Drain());
    }

    [SkippableFact]
    public void A_semaphore_eventfd_drains_one_at_a_time()
    {
        Support.Lab.RequireLinux();
        using var wake = EventFd.Create(semaphore: true);
        wake.Signal(2);
        Assert.Equal(1UL, wake.Drain());
        Assert.Equal(1UL, wake.Drain());
        Assert.Equal(0UL, wake.Drain());
    }

    [SkippableFact]
    public void Modify_changes_the_tag_and_Delete_stops_the_reports()
    {
        Support.Lab.RequireLinux();
        using var epoll = Epoll.Create();
        using var wake = EventFd.Create();
        epoll.Add(wake.Descriptor, EpollEvents.In, 1);
        wake.Signal();
        epoll.Modify(wake.Descriptor, EpollEvents.In, 2);
        var events = new EpollEvent[1];
        Assert.Equal(1, epoll.Wait(events, 1000));
        Assert.Equal(2UL, events[0].Data);

        epoll.Delete(wake.Descriptor);
        Assert.Equal(0, epoll.Wait(events, 0));
    }

    [SkippableFact]
    public void Adding_a_descriptor_twice_throws_EEXIST()
    {
        Support.Lab.RequireLinux();
        using var epoll = Epoll.Create();
        using var wake = EventFd.Create();
        epoll.Add(wake.Descriptor, EpollEvents.In, 1);
        var e = Assert.Throws<NativeException>(() => epoll.Add(wake.Descriptor, EpollEvents.In, 1));
        Assert.Equal(Errno.EEXIST, e.Errno.Number);
        Assert.Contains("EPOLL_CTL_ADD", e.Message, StringComparison.Ordinal);
    }
}
