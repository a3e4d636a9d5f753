using Microsoft.CodeAnalysis;

namespace Dataplane.Generators.Tests;

/// <summary>
/// The emitted counter groups, storage and names, compared with the committed snapshot in
/// Snapshots/. After an intended change to the emitter, run the tests with UPDATE_SNAPSHOTS=1 and
/// review the diff of the snapshot.
/// </summary>
public class CountersSnapshotTests
{
    private const string HintName = "Samples.StackCounters.g.cs";

    private static string Emitted(GeneratorDriverRunResult result)
        => Assert.Single(result.Results.Single().GeneratedSources).SourceText.ToString();

    [Fact]
    public void Emitted_counters_match_snapshot()
    {
        var (result, output) = GeneratorHarness.RunCounters(CountersSamples.Udp, CountersSamples.Ip, CountersSamples.Use);

        Assert.Empty(GeneratorHarness.Errors(result, output));
        Assert.Equal(HintName, Assert.Single(result.Results.Single().GeneratedSources).HintName);
        SnapshotFile.AssertMatches(HintName, Emitted(result));
    }

    [Fact]
    public void Groups_are_in_declared_order_not_source_order_and_the_tables_follow_them()
    {
        var (result, _) = GeneratorHarness.RunCounters(CountersSamples.Udp, CountersSamples.Ip);
        string emitted = Emitted(result);

        Assert.Contains("Ip = 0,", emitted, StringComparison.Ordinal);
        Assert.Contains("Udp = 1,", emitted, StringComparison.Ordinal);
        Assert.Contains("Headings = [\"ip\", \"udp\"];", emitted, StringComparison.Ordinal);
        Assert.Contains("_groups = [Ip, Udp];", emitted, StringComparison.Ordinal);
        Assert.Contains("public readonly long[] Ip = new long[4];", emitted, StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_are_the_member_names_in_snake_case_and_texts_are_escaped()
    {
        var (result, _) = GeneratorHarness.RunCounters(CountersSamples.Udp, CountersSamples.Ip);
        string emitted = Emitted(result);

        Assert.Contains("\"zero_checksum6\", // ZeroChecksum6", emitted, StringComparison.Ordinal);
        Assert.Contains("\"bad_checksum\", // BadChecksum", emitted, StringComparison.Ordinal);
        Assert.Contains("\"packets \\\"quoted\\\" \\\\ escaped\", // Quoted", emitted, StringComparison.Ordinal);
    }

    [Fact]
    public void Nothing_maps_a_group_by_default_and_nothing_is_read_by_reflection()
    {
        var (result, _) = GeneratorHarness.RunCounters(CountersSamples.Udp, CountersSamples.Ip);
        string emitted = Emitted(result);

        Assert.DoesNotContain("_ =>", emitted, StringComparison.Ordinal);
        Assert.DoesNotContain("Enum.", emitted, StringComparison.Ordinal);
        Assert.DoesNotContain("typeof", emitted, StringComparison.Ordinal);
    }

    [Fact]
    public void A_compilation_without_counter_groups_gets_nothing()
    {
        var (result, output) = GeneratorHarness.RunCounters(CountersSamples.Unrelated);

        Assert.Empty(GeneratorHarness.Errors(result, output));
        Assert.Empty(result.Results.Single().GeneratedSources);
    }
}
