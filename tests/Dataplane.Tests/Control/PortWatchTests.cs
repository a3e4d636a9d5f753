using System.Text.Json;
using Dataplane.Buffers;
using Dataplane.Control;
using Dataplane.Engine;
using Dataplane.Ports;
using Dataplane.Stack;
using Dataplane.Wire;

namespace Dataplane.Tests.Control;

/// <summary>
/// The control thread's <see cref="PortWatch"/> (issue 16, "a device that reports an error or loses
/// its link while running: counted and logged, the other ports keep working, the link coming back
/// is picked up"), over ports whose link and faults a test sets.
/// </summary>
public sealed class PortWatchTests
{
    /// <summary>A port whose link a test sets, and which reports the faults a test queues.</summary>
    private sealed class WatchedPort(string name) : IPort, IDeviceFaults
    {
        public readonly List<DeviceFault> Pending = [];
        public string Name => name;
        public string Driver => "fake";
        public int QueueCount => 1;
        public MacAddress Mac => new(2, 0, 0, 0, 0, 9);
        public int Mtu => 1500;
        public bool LinkUp { get; set; } = true;
        public string? Failure { get; set; }
        public PortCapabilities Capabilities => PortCapabilities.None;
        public QueueCounters Counters(int queue) => new();
        public void Start() { }
        public void Stop() { }
        public void SetPromiscuous(bool on) { }
        public void Dispose() { }

        public void CheckFaults(List<DeviceFault> faults)
        {
            faults.AddRange(Pending);
            Pending.Clear();
        }
    }

    [Fact]
    public void A_link_change_is_logged_once_and_counted_per_port_and_the_other_port_is_untouched()
    {
        WatchedPort a = new("a"), b = new("b");
        var log = new List<string>();
        var watch = new PortWatch([a, b], log.Add);
        watch.Check();
        Assert.Empty(log);

        a.LinkUp = false;
        watch.Check();
        watch.Check();
        Assert.Equal(["port a: link down"], log);
        Assert.False(watch.Health(0).LinkUp);
        Assert.Equal(1, watch.Health(0).LinkDowns);

        a.LinkUp = true;
        watch.Check();
        watch.Check();
        Assert.Equal(["port a: link down", "port a: link up"], log);
        Assert.Equal(1, watch.Health(0).LinkUps);
        Assert.True(watch.Health(1).LinkUp);
        Assert.Equal(0, watch.Health(1).LinkDowns);
    }

    [Fact]
    public void A_link_down_at_start_is_said_once_but_not_counted_as_a_transition()
    {
        WatchedPort a = new("a") { LinkUp = false };
        var log = new List<string>();
        var watch = new PortWatch([a], log.Add);
        watch.Check();
        watch.Check();
        Assert.Equal(["port a: link down"], log);
        Assert.Equal(0, watch.Health(0).LinkDowns);
    }

    [Fact]
    public void Faults_are_counted_by_name_a_fatal_one_logged_every_time_another_the_first_time_and_a_failure_said_once()
    {
        WatchedPort a = new("a");
        var log = new List<string>();
        var watch = new PortWatch([a], log.Add);
        a.Pending.Add(new DeviceFault("missed packets", "MPC", 3));
        watch.Check();
        a.Pending.Add(new DeviceFault("missed packets", "MPC", 4));
        watch.Check();
        Assert.Equal(["port a: device error: missed packets: MPC"], log);
        Assert.Equal([new KeyValuePair<string, long>("missed packets", 7)], watch.Health(0).Faults());

        a.Pending.Add(new DeviceFault("transmit queue error", "tq[0] stopped", Fatal: true));
        a.Failure = "1 queue stopped";
        a.LinkUp = false;
        watch.Check();
        watch.Check();
        Assert.Equal(
            ["port a: device error: missed packets: MPC", "port a: device error: transmit queue error: tq[0] stopped",
             "port a: 1 queue stopped; the port is down, the other ports keep running", "port a: link down"], log);
        Assert.Equal("1 queue stopped", watch.Health(0).Failure);
    }

    [Fact]
    public void Stats_json_has_each_ports_link_transitions_faults_and_failure()
    {
        WatchedPort a = new("a");
        var watch = new PortWatch([a], _ => { });
        watch.Check();
        a.LinkUp = false;
        a.Pending.Add(new DeviceFault("device needs reset", "DEVICE_NEEDS_RESET", Fatal: true));
        a.Failure = "device needs reset";
        watch.Check();
        var pool = new BufferPool(16);
        var view = new DataplaneView([a], [new(0, 0, new WorkerCounters(), new BufferCache(pool))], new NetworkStack([], forwarding: false), [new()]) { Watch = watch };

        using JsonDocument doc = JsonDocument.Parse(StatsJson.Write(view));

        JsonElement port = doc.RootElement.GetProperty("ports")[0];
        Assert.Equal(1, port.GetProperty("link_downs").GetInt64());
        Assert.Equal(0, port.GetProperty("link_ups").GetInt64());
        Assert.Equal(1, port.GetProperty("device_errors").GetProperty("device needs reset").GetInt64());
        Assert.Equal("device needs reset", port.GetProperty("failure").GetString());
        Assert.Equal(1, doc.RootElement.GetProperty("errors").GetProperty("port.a.link_downs").GetInt64());
    }

    [Fact]
    public void Ifconfig_shows_no_carrier_or_a_failed_device_the_link_transitions_and_the_faults_by_name()
    {
        WatchedPort a = new("a"), b = new("b");
        var watch = new PortWatch([a, b], _ => { });
        watch.Check();
        a.LinkUp = false;
        watch.Check();
        a.LinkUp = true;
        watch.Check();
        a.LinkUp = false;
        watch.Check();
        b.Pending.Add(new DeviceFault("transmit queue error", "tq[0] stopped", Fatal: true));
        b.Failure = "1 queue stopped";
        b.LinkUp = false;
        watch.Check();
        var pool = new BufferPool(16);
        NetInterface[] nets =
        [
            new(0, "a", a.Mac, 1500, default, [], []),
            new(1, "b", b.Mac, 1500, default, [], []),
        ];
        var view = new DataplaneView([a, b], [new(0, 0, new WorkerCounters(), new BufferCache(pool))], new NetworkStack(nets, forwarding: false), [new()]) { Watch = watch };

        string text = IfconfigReport.Write(view);

        Assert.Contains("a: flags=<UP> mtu 1500\n", text, StringComparison.Ordinal);
        Assert.Contains("\tstatus: no carrier\n\tlink: 2 down, 1 up\n", text, StringComparison.Ordinal);
        Assert.Contains("b: flags=<UP> mtu 1500\n", text, StringComparison.Ordinal);
        Assert.Contains("\tstatus: device failed (1 queue stopped)\n\tlink: 1 down, 0 up\n\tdevice error: transmit queue error: 1\n", text, StringComparison.Ordinal);
    }
}
