using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Dataplane.Generators.WireFormat;

/// <summary>
/// Emits, for every <c>[WireHeader]</c> partial ref struct, a view over <c>Span&lt;byte&gt;</c>
/// (checked creation, accessors, option and record iterators, checksum helpers) and a value
/// <c>Repr</c> with <c>TryParse</c> and <c>Emit</c>.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class WireFormatGenerator : IIncrementalGenerator
{
    internal const string WireHeaderAttribute = "Dataplane.Wire.WireHeaderAttribute";

    /// <summary>Names of the pipeline steps, for incrementality tests.</summary>
    public static class TrackingNames
    {
        /// <summary>Declarations turned into models.</summary>
        public const string Headers = "WireHeaders";

        /// <summary>Models that parsed without errors, ready to emit.</summary>
        public const string Emittable = "EmittableWireHeaders";
    }

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        IncrementalValuesProvider<ParseResult> results = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                WireHeaderAttribute,
                predicate: static (node, _) => node is StructDeclarationSyntax,
                transform: static (ctx, ct) => Parser.Parse(ctx, ct))
            .WithTrackingName(TrackingNames.Headers);

        context.RegisterSourceOutput(results, static (spc, result) =>
        {
            foreach (DiagnosticInfo d in result.Diagnostics)
            {
                spc.ReportDiagnostic(Diagnostic.Create(
                    WireFormatDiagnostics.ById(d.Id), d.Location?.ToLocation(), d.Arguments.Items.ToArray()));
            }
        });

        IncrementalValuesProvider<HeaderModel> models = results
            .Where(static r => r.Model is not null)
            .Select(static (r, _) => r.Model!)
            .WithTrackingName(TrackingNames.Emittable);

        context.RegisterSourceOutput(models, static (spc, model) =>
            spc.AddSource($"{model.Namespace}.{model.TypeName}.g.cs".TrimStart('.'), Emitter.Emit(model)));
    }
}
