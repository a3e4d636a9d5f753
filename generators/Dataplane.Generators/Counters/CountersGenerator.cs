using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Dataplane.Generators.Counters;

/// <summary>
/// Emits, from every <c>[Counters]</c> enum of the compilation (one protocol's counters, each
/// member with its <c>[Counter]</c> text and error flag), one file: the <c>CounterGroup</c> enum in
/// print order, <c>StackCounters</c>' array, <c>Count</c> and <c>Add</c> per group, and
/// <c>CounterNames</c> (headings, netstat texts, snake_case JSON keys, error flags). A protocol's
/// counters are thus declared in one file, and netstat -s, stats --json and the error list follow.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class CountersGenerator : IIncrementalGenerator
{
    internal const string CountersAttribute = "Dataplane.Stack.CountersAttribute";
    internal const string CounterAttribute = "Dataplane.Stack.CounterAttribute";

    /// <summary>What a group enum's name ends in; the rest names the group (<c>IpCounter</c> → <c>Ip</c>).</summary>
    internal const string EnumSuffix = "Counter";

    /// <summary>Names of the pipeline steps, for incrementality tests.</summary>
    public static class TrackingNames
    {
        /// <summary>Declarations turned into models.</summary>
        public const string Groups = "CounterGroups";

        /// <summary>The models that can be emitted, gathered in print order.</summary>
        public const string Emittable = "EmittableCounters";

        /// <summary>Every group's heading, order and namespace, for the checks across groups.</summary>
        public const string Declarations = "CounterGroupDeclarations";
    }

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        IncrementalValuesProvider<ParseResult> results = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                CountersAttribute,
                predicate: static (node, _) => node is EnumDeclarationSyntax,
                transform: static (ctx, ct) => Parser.Parse(ctx, ct))
            .WithTrackingName(TrackingNames.Groups);

        context.RegisterSourceOutput(results, static (spc, result) =>
        {
            foreach (DiagnosticInfo d in result.Diagnostics)
                ReportDiagnostic(spc, d);
        });

        // All groups make one file: the storage and the names are tables over every group.
        IncrementalValueProvider<CountersModel?> model = results
            .Where(static r => r.Model is not null)
            .Select(static (r, _) => r.Model!)
            .Collect()
            .Select(static (groups, _) => Gather(groups))
            .WithTrackingName(TrackingNames.Emittable);

        context.RegisterSourceOutput(model, static (spc, m) =>
        {
            if (m is not null)
                spc.AddSource($"{m.Namespace}.StackCounters.g.cs".TrimStart('.'), Emitter.Emit(m));
        });

        IncrementalValueProvider<ImmutableArray<GroupDeclaration>> declarations = results
            .Where(static r => r.Declaration is not null)
            .Select(static (r, _) => r.Declaration!)
            .Collect()
            .WithTrackingName(TrackingNames.Declarations);

        context.RegisterSourceOutput(declarations, static (spc, all) =>
        {
            foreach (DiagnosticInfo d in Conflicts(all))
                ReportDiagnostic(spc, d);
        });
    }

    /// <summary>The groups in print order (by order, then name, so that a clash still emits deterministically); null when there are none.</summary>
    internal static CountersModel? Gather(ImmutableArray<GroupModel> groups)
    {
        if (groups.IsEmpty)
            return null; // a project without counters (the drivers, the tests) gets nothing
        ImmutableArray<GroupModel> ordered = groups
            .OrderBy(static g => g.Order)
            .ThenBy(static g => g.EnumType, System.StringComparer.Ordinal)
            .ToImmutableArray();
        return new CountersModel(ordered[0].Namespace, ordered);
    }

    /// <summary>
    /// DPC004 for a heading or an order claimed before, DPC005 for a group outside the namespace of
    /// the first in print order; each at the later declaration, in print order.
    /// </summary>
    internal static IEnumerable<DiagnosticInfo> Conflicts(ImmutableArray<GroupDeclaration> declarations)
    {
        var headings = new Dictionary<string, GroupDeclaration>();
        var orders = new Dictionary<int, GroupDeclaration>();
        GroupDeclaration? first = null;
        IEnumerable<GroupDeclaration> ordered = declarations
            .OrderBy(static d => d.Order)
            .ThenBy(static d => d.EnumType, System.StringComparer.Ordinal);
        foreach (GroupDeclaration d in ordered)
        {
            first ??= d;
            if (d.Namespace != first.Namespace)
                yield return Diag("DPC005", d.Location, d.EnumType, d.Namespace, first.EnumType, first.Namespace);
            if (headings.TryGetValue(d.Heading, out GroupDeclaration? h))
                yield return Diag("DPC004", d.Location, d.EnumType, "heading", $"'{d.Heading}'", h.EnumType);
            else
                headings.Add(d.Heading, d);
            if (orders.TryGetValue(d.Order, out GroupDeclaration? o))
                yield return Diag("DPC004", d.Location, d.EnumType, "order", d.Order.ToString(System.Globalization.CultureInfo.InvariantCulture), o.EnumType);
            else
                orders.Add(d.Order, d);
        }
    }

    private static DiagnosticInfo Diag(string id, LocationInfo? location, params string[] args)
        => new(id, location, ImmutableArray.Create(args));

    private static void ReportDiagnostic(SourceProductionContext spc, DiagnosticInfo d)
        => spc.ReportDiagnostic(Diagnostic.Create(
            CountersDiagnostics.ById(d.Id), d.Location?.ToLocation(), d.Arguments.Items.ToArray()));
}
