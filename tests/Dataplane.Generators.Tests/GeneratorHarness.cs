using System.Collections.Immutable;
using Dataplane.Generators.Counters;
using Dataplane.Generators.PacketPath;
using Dataplane.Generators.WireFormat;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Dataplane.Generators.Tests;

/// <summary>Compiles test sources against the runtime, Dataplane.Wire and the engine (and the stack's counter attributes), and runs a generator.</summary>
internal static class GeneratorHarness
{
    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
    {
        string tpa = (string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!;
        return tpa.Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal)
                || Path.GetFileName(p) is "netstandard.dll" or "mscorlib.dll")
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .Append(MetadataReference.CreateFromFile(typeof(Dataplane.Wire.WireHeaderAttribute).Assembly.Location))
            .Append(MetadataReference.CreateFromFile(typeof(Dataplane.Native.FileDescriptor).Assembly.Location))
            .Append(MetadataReference.CreateFromFile(Path.Combine(AppContext.BaseDirectory, "Dataplane.Core.dll"))) // all internal: no type to name
            .ToImmutableArray();
    });

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Preview);

    // Dataplane.Core lets this assembly name see its internals (the engine types emitted code uses).
    public static CSharpCompilation Compile(params string[] sources)
        => CSharpCompilation.Create(
            "Dataplane.Generators.Samples",
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"Sample{i}.cs")),
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver CreateDriver(IIncrementalGenerator? generator = null)
        => CSharpGeneratorDriver.Create(
            [(generator ?? new WireFormatGenerator()).AsSourceGenerator()],
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Runs the wire-format generator; returns its result and the compilation with the generated sources.</summary>
    public static (GeneratorDriverRunResult Result, Compilation Output) Run(params string[] sources)
        => Run(new WireFormatGenerator(), sources);

    /// <summary>Runs the packet-path generator; returns its result and the compilation with the generated sources.</summary>
    public static (GeneratorDriverRunResult Result, Compilation Output) RunPacketPath(params string[] sources)
        => Run(new PacketPathGenerator(), sources);

    /// <summary>Runs the counters generator; returns its result and the compilation with the generated sources.</summary>
    public static (GeneratorDriverRunResult Result, Compilation Output) RunCounters(params string[] sources)
        => Run(new CountersGenerator(), sources);

    private static (GeneratorDriverRunResult Result, Compilation Output) Run(IIncrementalGenerator generator, string[] sources)
    {
        CSharpCompilation input = Compile(sources);
        GeneratorDriver driver = CreateDriver(generator).RunGeneratorsAndUpdateCompilation(input, out Compilation output, out _);
        return (driver.GetRunResult(), output);
    }

    /// <summary>Errors of the compiled output, generator diagnostics included.</summary>
    public static IReadOnlyList<Diagnostic> Errors(GeneratorDriverRunResult result, Compilation output)
        => result.Diagnostics.Concat(output.GetDiagnostics())
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .ToList();
}
