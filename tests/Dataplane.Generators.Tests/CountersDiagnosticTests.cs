using Microsoft.CodeAnalysis;

namespace Dataplane.Generators.Tests;

/// <summary>Misdeclared counters are compiler errors DPC0xx at the declaration.</summary>
public class CountersDiagnosticTests
{
    private static string Source(string declaration, string body, string ns = "Samples") => $$"""
        using Dataplane.Stack;
        namespace {{ns}};
        {{declaration}}
        {
        {{body}}
        }
        """;

    private static string Group(string name, string heading, int order, string ns = "Samples")
        => Source($"[Counters(\"{heading}\", order: {order})]\ninternal enum {name}", "    [Counter(\"packets received\")] Received,", ns);

    /// <summary>The generator's diagnostics (the compiler's own are not asked for).</summary>
    private static Diagnostic Single(params string[] sources) => Single(out _, sources);

    private static Diagnostic Single(out GeneratorDriverRunResult result, params string[] sources)
    {
        (result, _) = GeneratorHarness.RunCounters(sources);
        return Assert.Single(result.Diagnostics);
    }

    private static int Line(Diagnostic d) => d.Location.GetLineSpan().StartLinePosition.Line + 1;

    [Fact]
    public void A_counter_without_text_is_an_error_at_the_member_DPC001()
    {
        string source = Source("[Counters(\"ip\", order: 10)]\ninternal enum IpCounter", """
                [Counter("total packets received")]
                Received,

                /// <summary>Forgot its line.</summary>
                TooShort,
            """);
        var (result, output) = GeneratorHarness.RunCounters(source);

        Diagnostic d = Assert.Single(result.Diagnostics);
        Assert.Equal("DPC001", d.Id);
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.Equal("Counter 'IpCounter.TooShort' has no text: give it [Counter(\"...\")] with the line netstat -s prints for it", d.GetMessage());
        Assert.Equal(10, Line(d));
        // Its storage is still emitted, so that the build's one error is the missing text, not every call site.
        Assert.Equal([d], GeneratorHarness.Errors(result, output));
        Assert.Single(result.Results.Single().GeneratedSources);
    }

    [Theory]
    [InlineData("[Counter(\"\")]")]
    [InlineData("[Counter(\"  \", Error = true)]")]
    [InlineData("[Counter(null!)]")]
    public void An_empty_text_is_no_text_DPC001(string attribute)
    {
        Diagnostic d = Single(Source("[Counters(\"ip\", order: 10)]\ninternal enum IpCounter", $"    {attribute} Received,"));
        Assert.Equal("DPC001", d.Id);
        Assert.StartsWith("Counter 'IpCounter.Received' has no text", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_group_named_other_than_protocol_Counter_is_refused_DPC002()
    {
        Diagnostic d = Single(out GeneratorDriverRunResult result, Source("[Counters(\"ip\", order: 10)]\ninternal enum IpStats", "    [Counter(\"packets\")] Received,"));
        Assert.Equal("DPC002", d.Id);
        Assert.Equal("'IpStats' cannot be a counter group: its name must be the protocol followed by 'Counter' (IpCounter), which names the group and its array", d.GetMessage());
        Assert.Empty(result.Results.Single().GeneratedSources);
    }

    [Fact]
    public void A_nested_group_is_refused_DPC002()
    {
        Diagnostic d = Single(Source("internal static class Outer", "    [Counters(\"ip\", order: 10)] internal enum IpCounter { [Counter(\"packets\")] Received }"));
        Assert.Equal("DPC002", d.Id);
        Assert.StartsWith("'IpCounter' cannot be a counter group: it is nested in 'Outer'", d.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[Counter(\"a\")] A = 1,", "'A' is 1, not 0")]
    [InlineData("[Counter(\"a\")] A, [Counter(\"b\")] B = 5,", "'B' is 5, not 1")]
    [InlineData("[Counter(\"a\")] A, [Counter(\"b\")] B = A,", "'B' is 0, not 1")]
    public void Members_that_do_not_count_up_from_zero_cannot_index_the_array_DPC002(string body, string what)
    {
        Diagnostic d = Single(out GeneratorDriverRunResult result, Source("[Counters(\"ip\", order: 10)]\ninternal enum IpCounter", "    " + body));
        Assert.Equal("DPC002", d.Id);
        Assert.StartsWith($"'IpCounter' cannot be a counter group: {what}: a counter's value is its place", d.GetMessage(), StringComparison.Ordinal);
        Assert.Empty(result.Results.Single().GeneratedSources);
    }

    [Theory]
    [InlineData("IP")]
    [InlineData("ip-6")]
    [InlineData("6ip")]
    [InlineData("")]
    public void A_heading_netstat_could_not_print_is_refused_DPC003(string heading)
    {
        Diagnostic d = Single(Group("IpCounter", heading, 10));
        Assert.Equal("DPC003", d.Id);
        Assert.StartsWith($"Heading '{heading}' of 'IpCounter' must be a lower-case word", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void Two_groups_with_one_heading_are_refused_at_the_later_DPC004()
    {
        Diagnostic d = Single(Group("IpCounter", "ip", 10), Group("Ip4Counter", "ip", 20));
        Assert.Equal("DPC004", d.Id);
        Assert.Equal("'Ip4Counter' has the heading 'ip' of 'IpCounter': each group has its own heading and its own place in netstat -s", d.GetMessage());
        Assert.Equal("Sample1.cs", d.Location.GetLineSpan().Path);
    }

    [Fact]
    public void Two_groups_with_one_order_are_refused_DPC004()
    {
        Diagnostic d = Single(Group("UdpCounter", "udp", 10), Group("IpCounter", "ip", 10));
        Assert.Equal("DPC004", d.Id);
        Assert.Equal("'UdpCounter' has the order 10 of 'IpCounter': each group has its own heading and its own place in netstat -s", d.GetMessage());
    }

    [Fact]
    public void Groups_in_two_namespaces_are_refused_DPC005()
    {
        Diagnostic d = Single(Group("IpCounter", "ip", 10), Group("UdpCounter", "udp", 20, ns: "Elsewhere"));
        Assert.Equal("DPC005", d.Id);
        Assert.Equal("'UdpCounter' is in namespace 'Elsewhere', but 'IpCounter' is in 'Samples': the groups share one StackCounters, emitted in their namespace", d.GetMessage());
    }

    [Fact]
    public void Two_counters_with_one_JSON_key_are_refused_DPC006()
    {
        Diagnostic d = Single(Source("[Counters(\"ip\", order: 10)]\ninternal enum IpCounter", "    [Counter(\"a\")] BadSum, [Counter(\"b\")] badSum,"));
        Assert.Equal("DPC006", d.Id);
        Assert.Equal("Counters 'IpCounter.BadSum' and 'IpCounter.badSum' both have the JSON key 'bad_sum'", d.GetMessage());
    }

    [Fact]
    public void A_refused_group_is_left_out_but_the_others_are_still_emitted()
    {
        var (result, _) = GeneratorHarness.RunCounters(CountersSamples.Ip, Group("UdpStats", "udp", 20));

        Assert.Equal("DPC002", Assert.Single(result.Diagnostics).Id);
        string emitted = Assert.Single(result.Results.Single().GeneratedSources).SourceText.ToString();
        Assert.Contains("Ip = 0,", emitted, StringComparison.Ordinal);
        Assert.DoesNotContain("Udp", emitted, StringComparison.Ordinal);
    }
}
