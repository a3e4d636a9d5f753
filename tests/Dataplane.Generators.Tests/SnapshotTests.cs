using Microsoft.CodeAnalysis;

namespace Dataplane.Generators.Tests;

/// <summary>
/// The emitted source, compared with the committed snapshots in Snapshots/. After an intended change
/// to the emitter, run the tests with UPDATE_SNAPSHOTS=1 and review the diff of the snapshots.
/// </summary>
public class SnapshotTests
{
    [Theory]
    [InlineData(nameof(Samples.Ipv4Like), "Samples.SampleIpv4.g.cs")]
    [InlineData(nameof(Samples.UdpLike), "Samples.SampleUdp.g.cs")]
    [InlineData(nameof(Samples.Records), "Samples.SampleRecord.g.cs")]
    [InlineData(nameof(Samples.Records), "Samples.SampleReport.g.cs")]
    public void Emitted_source_matches_snapshot(string sample, string hintName)
    {
        string source = (string)typeof(Samples).GetField(sample)!.GetValue(null)!;
        var (result, output) = GeneratorHarness.Run(source);

        Assert.Empty(GeneratorHarness.Errors(result, output));
        GeneratedSourceResult generated = result.Results.Single().GeneratedSources.Single(s => s.HintName == hintName);
        SnapshotFile.AssertMatches(hintName, generated.SourceText.ToString());
    }

    [Fact]
    public void Every_declaration_gets_exactly_one_source_named_after_it()
    {
        var (result, _) = GeneratorHarness.Run(Samples.Ipv4Like, Samples.UdpLike, Samples.Records);

        Assert.Equal(
            ["Samples.SampleIpv4.g.cs", "Samples.SampleRecord.g.cs", "Samples.SampleReport.g.cs", "Samples.SampleUdp.g.cs"],
            result.Results.Single().GeneratedSources.Select(s => s.HintName).Order());
    }
}
