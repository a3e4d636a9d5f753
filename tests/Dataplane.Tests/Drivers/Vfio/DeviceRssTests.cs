using Dataplane.Drivers.Vfio;
using Dataplane.Engine;

namespace Dataplane.Tests.Drivers.Vfio;

/// <summary>
/// <see cref="DeviceRss"/>: a device's reported hash kind is taken only where the engine would hash
/// the same tuple (<see cref="FlowKey"/>), the symmetric-key check, and the device table from the owners.
/// </summary>
public sealed class DeviceRssTests
{
    public static TheoryData<string, byte[], int, bool> Frames() => new()
    {
        { "TCP over IPv4, 4-tuple", FlowFrames.Ipv4(6, 1, 2, 3, 4), (int)DeviceHashKind.Ipv4Ports, true },
        { "UDP over IPv4, 4-tuple", FlowFrames.Ipv4(17, 1, 2, 3, 4), (int)DeviceHashKind.Ipv4Ports, true },
        { "TCP over IPv4, 2-tuple (the engine hashes the ports)", FlowFrames.Ipv4(6, 1, 2, 3, 4), (int)DeviceHashKind.Ipv4, false },
        { "UDP over IPv4, 2-tuple (vmxnet3 has no UDP hash type)", FlowFrames.Ipv4(17, 1, 2, 3, 4), (int)DeviceHashKind.Ipv4, false },
        { "ICMP over IPv4, 2-tuple", FlowFrames.Ipv4(1, 1, 2, 0, 0), (int)DeviceHashKind.Ipv4, true },
        { "a TCP fragment, 4-tuple (the engine keys fragments on addresses)", FlowFrames.Ipv4(6, 1, 2, 3, 4, fragment: true), (int)DeviceHashKind.Ipv4Ports, false },
        { "a TCP fragment, 2-tuple", FlowFrames.Ipv4(6, 1, 2, 3, 4, fragment: true), (int)DeviceHashKind.Ipv4, true },
        { "TCP over IPv6, 4-tuple", FlowFrames.Ipv6(6, 1, 2, 3, 4), (int)DeviceHashKind.Ipv6Ports, true },
        { "UDP over IPv6, 2-tuple", FlowFrames.Ipv6(17, 1, 2, 3, 4), (int)DeviceHashKind.Ipv6, false },
        { "ICMPv6, 2-tuple", FlowFrames.Ipv6(58, 1, 2, 0, 0), (int)DeviceHashKind.Ipv6, true },
        { "an IPv6 fragment header, 2-tuple", FlowFrames.Ipv6(44, 1, 2, 0, 0), (int)DeviceHashKind.Ipv6, true },
        { "an IPv6 fragment header, 4-tuple", FlowFrames.Ipv6(44, 1, 2, 0, 0), (int)DeviceHashKind.Ipv6Ports, false },
        { "hop-by-hop options, 2-tuple (the engine walks them to the ports)", FlowFrames.Ipv6(0, 1, 2, 0, 0), (int)DeviceHashKind.Ipv6, false },
        { "IPv4 said to be IPv6", FlowFrames.Ipv4(6, 1, 2, 3, 4), (int)DeviceHashKind.Ipv6Ports, false },
        { "no hash", FlowFrames.Ipv4(6, 1, 2, 3, 4), (int)DeviceHashKind.None, false },
        { "a VLAN tag (the engine hashes 0)", Tagged(FlowFrames.Ipv4(6, 1, 2, 3, 4)), (int)DeviceHashKind.Ipv4Ports, false },
    };

    [Theory]
    [MemberData(nameof(Frames))]
    public void A_reported_hash_is_the_engines_only_for_the_tuple_the_engine_hashes(string what, byte[] frame, int kind, bool taken)
        => Assert.True(DeviceRss.MatchesEngine(frame, (DeviceHashKind)kind) == taken, what);

    [Fact]
    public void The_engines_key_is_symmetric_and_Microsofts_is_not()
    {
        Assert.True(DeviceRss.IsSymmetric(ToeplitzHash.SymmetricKey));
        Assert.False(DeviceRss.IsSymmetric(ToeplitzHash.MicrosoftKey));
        Assert.False(DeviceRss.IsSymmetric(ToeplitzHash.SymmetricKey[..20]));
    }

    [Fact]
    public void A_device_table_names_each_entrys_owner_and_folds_workers_past_the_port_s_queues()
    {
        var owners = new RssIndirectionTable(3);
        owners.SetEntry(5, 2);
        Assert.Equal(0, DeviceRss.QueueFor(owners, 0, 3));
        Assert.Equal(2, DeviceRss.QueueFor(owners, 5, 3));
        Assert.Equal(0, DeviceRss.QueueFor(owners, 5, 2)); // worker 2 drains no queue of a two-queue port
        Assert.Equal(1, DeviceRss.QueueFor(owners, 128 + 1, 3)); // past the engine's table: its entry modulo
    }

    private static byte[] Tagged(byte[] frame)
    {
        byte[] tagged = new byte[frame.Length + 4];
        frame.AsSpan(0, 12).CopyTo(tagged);
        tagged[12] = 0x81;
        tagged[16] = 0x08; // the inner EtherType
        frame.AsSpan(14).CopyTo(tagged.AsSpan(18));
        return tagged;
    }
}
