using Dataplane.Generators.Counters;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Dataplane.Generators.Tests;

/// <summary>
/// The counters pipeline caches: an edit that does not touch a counter declaration leaves every
/// step Unchanged or Cached; a changed text regenerates the file.
/// </summary>
public class CountersIncrementalTests
{
    private static readonly IncrementalStepRunReason[] Reused = [IncrementalStepRunReason.Unchanged, IncrementalStepRunReason.Cached];

    private static GeneratorDriver Driver() => GeneratorHarness.CreateDriver(new CountersGenerator());

    [Fact]
    public void An_edit_to_another_file_leaves_every_step_unchanged()
    {
        CSharpCompilation first = GeneratorHarness.Compile(CountersSamples.Udp, CountersSamples.Ip, CountersSamples.Unrelated);
        GeneratorDriver driver = Driver().RunGenerators(first);

        SyntaxTree old = first.SyntaxTrees.Last();
        SyntaxTree edited = old.WithChangedText(old.GetText().Replace(old.ToString().IndexOf("42", StringComparison.Ordinal), 2, "43"));
        driver = driver.RunGenerators(first.ReplaceSyntaxTree(old, edited));

        GeneratorRunResult run = driver.GetRunResult().Results.Single();
        foreach (string step in new[] { CountersGenerator.TrackingNames.Groups, CountersGenerator.TrackingNames.Emittable, CountersGenerator.TrackingNames.Declarations })
        {
            Assert.True(run.TrackedSteps.ContainsKey(step), $"step {step} was not tracked");
            Assert.All(run.TrackedSteps[step].SelectMany(s => s.Outputs), o => Assert.Contains(o.Reason, Reused));
        }
        Assert.All(run.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs), o => Assert.Contains(o.Reason, Reused));
    }

    [Fact]
    public void A_comment_added_to_a_declaration_file_leaves_the_model_unchanged()
    {
        CSharpCompilation first = GeneratorHarness.Compile(CountersSamples.Udp, CountersSamples.Ip);
        GeneratorDriver driver = Driver().RunGenerators(first);

        SyntaxTree old = first.SyntaxTrees.First();
        SyntaxTree edited = old.WithChangedText(old.GetText().Replace(0, 0, "// a comment that moves every line down\n"));
        driver = driver.RunGenerators(first.ReplaceSyntaxTree(old, edited));

        // The transform runs again for the edited file (its locations moved), but the model is equal,
        // so the file is not emitted again.
        GeneratorRunResult run = driver.GetRunResult().Results.Single();
        Assert.All(run.TrackedSteps[CountersGenerator.TrackingNames.Emittable].SelectMany(s => s.Outputs), o => Assert.Contains(o.Reason, Reused));
    }

    [Fact]
    public void Changing_a_text_regenerates_the_file()
    {
        CSharpCompilation first = GeneratorHarness.Compile(CountersSamples.Udp, CountersSamples.Ip);
        GeneratorDriver driver = Driver().RunGenerators(first);

        SyntaxTree old = first.SyntaxTrees.First();
        string text = old.ToString().Replace("\"datagrams received\"", "\"datagrams in\"", StringComparison.Ordinal);
        driver = driver.RunGenerators(first.ReplaceSyntaxTree(old, CSharpSyntaxTree.ParseText(text, GeneratorHarness.ParseOptions, old.FilePath)));

        GeneratorRunResult run = driver.GetRunResult().Results.Single();
        Assert.Contains(run.TrackedSteps[CountersGenerator.TrackingNames.Emittable].SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains("\"datagrams in\", // Received", run.GeneratedSources.Single().SourceText.ToString(), StringComparison.Ordinal);
    }
}
