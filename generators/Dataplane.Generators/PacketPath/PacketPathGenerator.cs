using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Dataplane.Generators.PacketPath;

/// <summary>
/// Emits, for every driver queue struct with <c>[PacketPath]</c>, the engine's poller of that queue:
/// a sealed <c>QueuePoller</c> that holds the struct by value and calls it directly, with a receive
/// loop compiled for each worker's processor and for the driver's receive facts, so that a burst
/// costs one virtual call and nothing inside it is dispatched per packet.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class PacketPathGenerator : IIncrementalGenerator
{
    internal const string PacketPathAttribute = "Dataplane.Ports.PacketPathAttribute";

    /// <summary>Names of the pipeline steps, for incrementality tests.</summary>
    public static class TrackingNames
    {
        /// <summary>Declarations turned into models.</summary>
        public const string Paths = "PacketPaths";

        /// <summary>Models that parsed without errors, ready to emit.</summary>
        public const string Emittable = "EmittablePacketPaths";

        /// <summary>Every driver name claimed in the compilation, for the duplicate check.</summary>
        public const string DriverNames = "PacketPathDriverNames";
    }

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // Any type declaration: the parser refuses what is not a plain struct with a diagnostic of
        // its own, which says more than the compiler's complaint about the attribute's target.
        IncrementalValuesProvider<ParseResult> results = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                PacketPathAttribute,
                predicate: static (node, _) => node is TypeDeclarationSyntax,
                transform: static (ctx, ct) => Parser.Parse(ctx, ct))
            .WithTrackingName(TrackingNames.Paths);

        context.RegisterSourceOutput(results, static (spc, result) =>
        {
            foreach (DiagnosticInfo d in result.Diagnostics)
                ReportDiagnostic(spc, d);
        });

        IncrementalValuesProvider<PathModel> models = results
            .Where(static r => r.Model is not null)
            .Select(static (r, _) => r.Model!)
            .WithTrackingName(TrackingNames.Emittable);

        context.RegisterSourceOutput(models, static (spc, model) =>
            spc.AddSource($"{model.Namespace}.{model.PathType}.g.cs".TrimStart('.'), Emitter.Emit(model)));

        // The one check across declarations: a driver name names one queue struct.
        IncrementalValueProvider<ImmutableArray<DriverDeclaration>> names = results
            .Where(static r => r.Declaration is not null)
            .Select(static (r, _) => r.Declaration!)
            .Collect()
            .WithTrackingName(TrackingNames.DriverNames);

        context.RegisterSourceOutput(names, static (spc, declarations) =>
        {
            foreach (DiagnosticInfo d in Duplicates(declarations))
                ReportDiagnostic(spc, d);
        });
    }

    /// <summary>A DPP004 for every declaration of a driver name after its first, in source order.</summary>
    internal static IEnumerable<DiagnosticInfo> Duplicates(ImmutableArray<DriverDeclaration> declarations)
    {
        var first = new Dictionary<string, DriverDeclaration>();
        IEnumerable<DriverDeclaration> ordered = declarations
            .OrderBy(static d => d.Location?.FilePath, System.StringComparer.Ordinal)
            .ThenBy(static d => d.Location?.Span.Start ?? 0);
        foreach (DriverDeclaration d in ordered)
        {
            if (first.TryGetValue(d.Driver, out DriverDeclaration? earlier))
                yield return new DiagnosticInfo("DPP004", d.Location, ImmutableArray.Create(d.Driver, earlier.QueueType));
            else
                first.Add(d.Driver, d);
        }
    }

    private static void ReportDiagnostic(SourceProductionContext spc, DiagnosticInfo d)
        => spc.ReportDiagnostic(Diagnostic.Create(
            PacketPathDiagnostics.ById(d.Id), d.Location?.ToLocation(), d.Arguments.Items.ToArray()));
}
