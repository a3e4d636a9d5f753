using Dataplane.Generators.WireFormat;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Dataplane.Generators.Tests;

/// <summary>
/// The pipeline caches: an edit that does not touch a header declaration leaves every step's
/// output Unchanged or Cached, so the IDE does not regenerate on each keystroke.
/// </summary>
public class IncrementalTests
{
    private const string Unrelated = """
        namespace Samples;
        public static class Unrelated
        {
            public static int Answer() => 42;
        }
        """;

    [Fact]
    public void An_edit_to_another_file_leaves_every_step_unchanged()
    {
        CSharpCompilation first = GeneratorHarness.Compile(Samples.Ipv4Like, Samples.UdpLike, Unrelated);
        GeneratorDriver driver = GeneratorHarness.CreateDriver().RunGenerators(first);

        SyntaxTree old = first.SyntaxTrees.Last();
        SyntaxTree edited = old.WithChangedText(old.GetText().Replace(old.ToString().IndexOf("42", StringComparison.Ordinal), 2, "43"));
        driver = driver.RunGenerators(first.ReplaceSyntaxTree(old, edited));

        AssertNothingRegenerated(driver.GetRunResult());
    }

    [Fact]
    public void A_comment_added_to_the_declaration_file_leaves_the_models_unchanged()
    {
        CSharpCompilation first = GeneratorHarness.Compile(Samples.Ipv4Like);
        GeneratorDriver driver = GeneratorHarness.CreateDriver().RunGenerators(first);

        SyntaxTree old = first.SyntaxTrees.Single();
        SyntaxTree edited = old.WithChangedText(old.GetText().Replace(0, 0, "// a comment that moves every line down\n"));
        driver = driver.RunGenerators(first.ReplaceSyntaxTree(old, edited));

        // The transform runs again for the edited file, but produces an equal model...
        GeneratorRunResult run = driver.GetRunResult().Results.Single();
        Assert.All(
            run.TrackedSteps[WireFormatGenerator.TrackingNames.Emittable].SelectMany(s => s.Outputs),
            o => Assert.Contains(o.Reason, new[] { IncrementalStepRunReason.Unchanged, IncrementalStepRunReason.Cached }));
    }

    [Fact]
    public void Changing_a_field_regenerates_that_header()
    {
        CSharpCompilation first = GeneratorHarness.Compile(Samples.UdpLike);
        GeneratorDriver driver = GeneratorHarness.CreateDriver().RunGenerators(first);

        SyntaxTree old = first.SyntaxTrees.Single();
        string text = old.ToString().Replace("[Field(2)] public partial ushort DestinationPort", "[Field(2)] public partial ushort TargetPort", StringComparison.Ordinal);
        driver = driver.RunGenerators(first.ReplaceSyntaxTree(old, CSharpSyntaxTree.ParseText(text, GeneratorHarness.ParseOptions, old.FilePath)));

        GeneratorRunResult run = driver.GetRunResult().Results.Single();
        Assert.Contains(
            run.TrackedSteps[WireFormatGenerator.TrackingNames.Emittable].SelectMany(s => s.Outputs),
            o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains("TargetPort", run.GeneratedSources.Single().SourceText.ToString(), StringComparison.Ordinal);
    }

    private static void AssertNothingRegenerated(GeneratorDriverRunResult result)
    {
        GeneratorRunResult run = result.Results.Single();
        foreach (string step in new[] { WireFormatGenerator.TrackingNames.Headers, WireFormatGenerator.TrackingNames.Emittable })
        {
            Assert.True(run.TrackedSteps.ContainsKey(step), $"step {step} was not tracked");
            Assert.All(
                run.TrackedSteps[step].SelectMany(s => s.Outputs),
                o => Assert.Contains(o.Reason, new[] { IncrementalStepRunReason.Unchanged, IncrementalStepRunReason.Cached }));
        }
        Assert.All(
            run.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.Contains(o.Reason, new[] { IncrementalStepRunReason.Unchanged, IncrementalStepRunReason.Cached }));
    }
}
