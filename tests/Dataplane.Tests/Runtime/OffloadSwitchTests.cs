using Dataplane.Config;
using Dataplane.Ports;
using Dataplane.Runtime;
using Dataplane.Wire;

namespace Dataplane.Tests.Runtime;

/// <summary>
/// <c>set tso|lro</c> and the port's own <c>tso|lro</c> applied to what a driver can do: the stack's
/// interface keeps TSO and LRO only where they are switched on (issue 13, "Switches").
/// </summary>
public class OffloadSwitchTests
{
    /// <summary>A port that claims every offload, standing in for a tap with TSO.</summary>
    private sealed class OffloadingPort(string name) : IPort
    {
        public string Name => name;
        public string Driver => "fake";
        public int QueueCount => 1;
        public MacAddress Mac => new(2, 0, 0, 0, 0, 9);
        public int Mtu => 1500;
        public bool LinkUp => true;
        public PortCapabilities Capabilities => PortCapabilities.Tso | PortCapabilities.Lro | PortCapabilities.TransmitChecksum;
        public QueueCounters Counters(int queue) => new();
        public void Start() { }
        public void Stop() { }
        public void SetPromiscuous(bool on) { }
        public void Dispose() { }
    }

    private static PortCapabilities Offloads(string config, string port)
    {
        ConfigResult parsed = ConfigParser.Parse("t.conf", config);
        Assert.True(parsed.IsValid, string.Join('\n', parsed.Errors));
        return StackBuilder.Offloads(parsed.Config, new OffloadingPort(port));
    }

    [Fact]
    public void Both_are_on_by_default()
        => Assert.Equal(PortCapabilities.Tso | PortCapabilities.Lro | PortCapabilities.TransmitChecksum, Offloads("port a driver memory\n", "a"));

    [Fact]
    public void Set_tso_off_and_set_lro_off_take_them_from_every_port()
        => Assert.Equal(PortCapabilities.TransmitChecksum, Offloads("set tso off\nset lro off\nport a driver memory\n", "a"));

    [Fact]
    public void A_port_of_its_own_overrides_the_setting_either_way()
    {
        const string Config = "set tso off\nport a driver memory tso on lro off\nport b driver memory\n";
        Assert.Equal(PortCapabilities.Tso | PortCapabilities.TransmitChecksum, Offloads(Config, "a"));
        Assert.Equal(PortCapabilities.Lro | PortCapabilities.TransmitChecksum, Offloads(Config, "b"));
    }

    /// <summary>
    /// tso on never gives a port that cannot segment TSO; lro on gives any port LRO, since the
    /// engine merges in software for a port that does not merge itself (PortBinding.Lro).
    /// </summary>
    [Fact]
    public void Tso_on_never_gives_a_port_what_its_driver_cannot_do_and_lro_on_is_made_up_in_software()
    {
        ConfigResult parsed = ConfigParser.Parse("t.conf", "port m driver memory tso on lro on\n");
        using var memory = Dataplane.Drivers.Memory.MemoryPort.CreateLoopback("m", 1);
        Assert.Equal(PortCapabilities.Lro, StackBuilder.Offloads(parsed.Config, memory) & (PortCapabilities.Tso | PortCapabilities.Lro));
    }
}
