using Dataplane.Generators.PacketPath;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Dataplane.Generators.Tests;

/// <summary>
/// The packet-path pipeline caches: an edit that does not touch a driver declaration leaves every
/// step Unchanged or Cached; a changed fact regenerates that driver's path.
/// </summary>
public class PacketPathIncrementalTests
{
    private static readonly IncrementalStepRunReason[] Reused = [IncrementalStepRunReason.Unchanged, IncrementalStepRunReason.Cached];

    private static GeneratorDriver Driver() => GeneratorHarness.CreateDriver(new PacketPathGenerator());

    [Fact]
    public void An_edit_to_another_file_leaves_every_step_unchanged()
    {
        CSharpCompilation first = GeneratorHarness.Compile(PacketPathSamples.Nic, PacketPathSamples.Host, PacketPathSamples.Unrelated);
        GeneratorDriver driver = Driver().RunGenerators(first);

        SyntaxTree old = first.SyntaxTrees.Last();
        SyntaxTree edited = old.WithChangedText(old.GetText().Replace(old.ToString().IndexOf("42", StringComparison.Ordinal), 2, "43"));
        driver = driver.RunGenerators(first.ReplaceSyntaxTree(old, edited));

        GeneratorRunResult run = driver.GetRunResult().Results.Single();
        foreach (string step in new[] { PacketPathGenerator.TrackingNames.Paths, PacketPathGenerator.TrackingNames.Emittable, PacketPathGenerator.TrackingNames.DriverNames })
        {
            Assert.True(run.TrackedSteps.ContainsKey(step), $"step {step} was not tracked");
            Assert.All(run.TrackedSteps[step].SelectMany(s => s.Outputs), o => Assert.Contains(o.Reason, Reused));
        }
        Assert.All(run.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs), o => Assert.Contains(o.Reason, Reused));
    }

    [Fact]
    public void A_comment_added_to_the_declaration_file_leaves_the_models_unchanged()
    {
        CSharpCompilation first = GeneratorHarness.Compile(PacketPathSamples.Host);
        GeneratorDriver driver = Driver().RunGenerators(first);

        SyntaxTree old = first.SyntaxTrees.Single();
        SyntaxTree edited = old.WithChangedText(old.GetText().Replace(0, 0, "// a comment that moves every line down\n"));
        driver = driver.RunGenerators(first.ReplaceSyntaxTree(old, edited));

        // The transform runs again for the edited file (its locations moved), but the model is equal,
        // so the path is not emitted again.
        GeneratorRunResult run = driver.GetRunResult().Results.Single();
        Assert.All(run.TrackedSteps[PacketPathGenerator.TrackingNames.Emittable].SelectMany(s => s.Outputs), o => Assert.Contains(o.Reason, Reused));
    }

    [Fact]
    public void Changing_a_fact_regenerates_that_path()
    {
        CSharpCompilation first = GeneratorHarness.Compile(PacketPathSamples.Host);
        GeneratorDriver driver = Driver().RunGenerators(first);
        Assert.Contains("SoftwareHash", driver.GetRunResult().Results.Single().GeneratedSources.Single().SourceText.ToString(), StringComparison.Ordinal);

        SyntaxTree old = first.SyntaxTrees.Single();
        string text = old.ToString().Replace("RssHash = OffloadReport.Never", "RssHash = OffloadReport.EveryFrame", StringComparison.Ordinal);
        driver = driver.RunGenerators(first.ReplaceSyntaxTree(old, CSharpSyntaxTree.ParseText(text, GeneratorHarness.ParseOptions, old.FilePath)));

        GeneratorRunResult run = driver.GetRunResult().Results.Single();
        Assert.Contains(run.TrackedSteps[PacketPathGenerator.TrackingNames.Emittable].SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.DoesNotContain("SoftwareHash", run.GeneratedSources.Single().SourceText.ToString(), StringComparison.Ordinal);
    }
}
