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
}
