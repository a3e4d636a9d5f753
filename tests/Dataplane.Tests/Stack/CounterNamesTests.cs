using System.Reflection;
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
    public void Every_counter_enum_is_a_group_and_every_counter_has_the_text_and_error_flag_it_declares()
    {
        // The generator refuses a member without text (DPC001); this also catches an enum it never
        // saw, one whose [Counters] is missing, and checks the emitted tables against the declarations.
        var counters = new StackCounters();
        Type[] enums = [.. typeof(StackCounters).Assembly.GetTypes()
            .Where(t => t.IsEnum && t.Namespace == "Dataplane.Stack" && t.Name.EndsWith("Counter", StringComparison.Ordinal))];
        Assert.Equal(CounterNames.Groups.Length, enums.Length);
        foreach (Type e in enums)
        {
            CountersAttribute? declared = e.GetCustomAttribute<CountersAttribute>();
            Assert.True(declared is not null, $"{e.Name} has no [Counters]");
            CounterGroup group = Assert.Single(CounterNames.Groups, g => CounterNames.Heading(g) == declared.Heading);
            Assert.Equal(e.Name, $"{group}Counter");
            string[] names = Enum.GetNames(e);
            Assert.Equal(names.Length, counters.Of(group).Length);
            for (int c = 0; c < names.Length; c++)
            {
                CounterAttribute? counter = e.GetField(names[c])!.GetCustomAttribute<CounterAttribute>();
                Assert.True(counter is not null && !string.IsNullOrWhiteSpace(counter.Text), $"{e.Name}.{names[c]} has no text");
                Assert.Equal(counter.Text, CounterNames.Texts(group)[c]);
                Assert.Equal(counter.Error, CounterNames.IsError(group, c));
            }
        }
        Assert.All(CounterNames.Groups.SelectMany(g => CounterNames.Texts(g)), t => Assert.False(string.IsNullOrWhiteSpace(t)));
    }

    [Fact]
    public void Count_and_Add_change_their_own_counter_only_and_ignore_a_value_outside_the_group()
    {
        // Count writes without a bounds check once its range test folds away: the first and last
        // members land in their own elements, and a value no member has (a cast) writes nothing.
        var counters = new StackCounters();
        counters.Count(IpCounter.Received);
        counters.Count(IpCounter.Forwarded);
        counters.Count(IpCounter.Forwarded);
        IpCounter last = Enum.GetValues<IpCounter>().Max();
        counters.Count(last);
        counters.Count((IpCounter)((int)last + 1));
        counters.Count((IpCounter)(-1));
        counters.Add(IpCounter.Received, 10);
        counters.Add((IpCounter)((int)last + 1), 100);
        long[] ip = counters.Of(CounterGroup.Ip);
        Assert.Equal(11, ip[(int)IpCounter.Received]);
        Assert.Equal(2, ip[(int)IpCounter.Forwarded]);
        Assert.Equal(1, ip[(int)last]);
        Assert.Equal(14, ip.Sum());
        Assert.All(CounterNames.Groups.Where(g => g != CounterGroup.Ip), g => Assert.All(counters.Of(g), v => Assert.Equal(0, v)));
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
