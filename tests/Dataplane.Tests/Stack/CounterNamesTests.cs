using Dataplane.Stack;

namespace Dataplane.Tests.Stack;

public class CounterNamesTests
{
    [Fact]
    public void Every_counter_of_every_group_has_a_netstat_line_and_a_json_key()
    {
        var counters = new StackCounters();
        foreach (CounterGroup group in CounterNames.Groups)
        {
            int count = counters.Of(group).Length;
            Assert.Equal(count, CounterNames.Texts(group).Length);
            Assert.Equal(count, CounterNames.Keys(group).Distinct().Count());
            Assert.All(CounterNames.Keys(group), k => Assert.Matches("^[a-z][a-z0-9_]*$", k));
        }
        Assert.Equal("bad_checksum", CounterNames.Keys(CounterGroup.Ip)[(int)IpCounter.BadChecksum]);
    }

    [Fact]
    public void Every_group_has_an_error_counter_and_one_that_is_not()
    {
        var counters = new StackCounters();
        foreach (CounterGroup group in CounterNames.Groups)
        {
            int[] all = [.. Enumerable.Range(0, counters.Of(group).Length)];
            Assert.Contains(all, c => CounterNames.IsError(group, c));
            Assert.Contains(all, c => !CounterNames.IsError(group, c));
        }
    }

    [Fact]
    public void Bad_input_and_exhaustion_are_errors_and_traffic_routing_and_policy_drops_are_not()
    {
        Assert.True(CounterNames.IsError(CounterGroup.Ip, (int)IpCounter.BadChecksum));
        Assert.True(CounterNames.IsError(CounterGroup.Ip6, (int)Ip6Counter.ReassemblyOutOfMemory));
        Assert.True(CounterNames.IsError(CounterGroup.Udp, (int)UdpCounter.SocketFull));
        Assert.True(CounterNames.IsError(CounterGroup.Arp, (int)ArpCounter.ResolutionFailed));
        Assert.True(CounterNames.IsError(CounterGroup.Icmp6, (int)Icmp6Counter.DuplicateAddresses));
        Assert.False(CounterNames.IsError(CounterGroup.Ip, (int)IpCounter.Forwarded));
        Assert.False(CounterNames.IsError(CounterGroup.Ip, (int)IpCounter.MartianSource));
        Assert.False(CounterNames.IsError(CounterGroup.Udp, (int)UdpCounter.NoPort));
        Assert.False(CounterNames.IsError(CounterGroup.Icmp, (int)IcmpCounter.ErrorsReceived)); // "errors" in the name, still traffic
    }
}
