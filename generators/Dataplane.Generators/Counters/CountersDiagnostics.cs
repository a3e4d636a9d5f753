using Microsoft.CodeAnalysis;

namespace Dataplane.Generators.Counters;

/// <summary>The diagnostics of the counters generator: DPC0xx.</summary>
internal static class CountersDiagnostics
{
    private const string Category = "Dataplane.Counters";

    public static readonly DiagnosticDescriptor NoText = new(
        "DPC001", "Counter has no text",
        "Counter '{0}.{1}' has no text: give it [Counter(\"...\")] with the line netstat -s prints for it",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NotAGroup = new(
        "DPC002", "Enum cannot be a counter group",
        "'{0}' cannot be a counter group: {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor BadHeading = new(
        "DPC003", "Counter group heading is invalid",
        "Heading '{0}' of '{1}' must be a lower-case word of letters and digits that starts with a letter, as netstat names a protocol",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor Duplicate = new(
        "DPC004", "Counter groups share a heading or an order",
        "'{0}' has the {1} {2} of '{3}': each group has its own heading and its own place in netstat -s",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor OtherNamespace = new(
        "DPC005", "Counter groups are in different namespaces",
        "'{0}' is in namespace '{1}', but '{2}' is in '{3}': the groups share one StackCounters, emitted in their namespace",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor DuplicateKey = new(
        "DPC006", "Counters share a JSON key",
        "Counters '{0}.{1}' and '{0}.{2}' both have the JSON key '{3}'",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static DiagnosticDescriptor ById(string id) => id switch
    {
        "DPC001" => NoText,
        "DPC002" => NotAGroup,
        "DPC003" => BadHeading,
        "DPC004" => Duplicate,
        "DPC005" => OtherNamespace,
        "DPC006" => DuplicateKey,
        _ => throw new System.ArgumentException($"no diagnostic {id}: a generator bug", nameof(id)),
    };
}
