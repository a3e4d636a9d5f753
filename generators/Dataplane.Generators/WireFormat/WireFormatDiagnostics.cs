using Microsoft.CodeAnalysis;

namespace Dataplane.Generators.WireFormat;

/// <summary>The diagnostics of the wire-format generator: DPW0xx.</summary>
internal static class WireFormatDiagnostics
{
    private const string Category = "Dataplane.WireFormat";

    public static readonly DiagnosticDescriptor NotPartialRefStruct = new(
        "DPW001", "Header must be a partial ref struct",
        "'{0}' must be declared 'readonly ref partial struct' at namespace level to be a wire header",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor OverlappingFields = new(
        "DPW002", "Fields overlap",
        "Field '{0}' (bits {1}..{2}) overlaps field '{3}' (bits {4}..{5})",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor WidthDoesNotFit = new(
        "DPW003", "Field width does not fit its type",
        "Field '{0}' is {1} bits wide, but its type '{2}' holds {3} bits",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor OutsideHeader = new(
        "DPW004", "Field lies outside the fixed header",
        "Field '{0}' ends at byte {1}, past the fixed length {2} of '{3}'",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnsupportedType = new(
        "DPW005", "Unsupported field type",
        "Field '{0}' has type '{1}': a wire field is an unsigned or signed integer, bool, an enum or a [WireValue] struct",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnknownLengthField = new(
        "DPW006", "Length names an unknown field",
        "[{0}] names '{1}', which is not a field of '{2}'",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor MissingPlacement = new(
        "DPW007", "Field needs one placement",
        "Partial property '{0}' needs exactly one of [Field] or [Bits]",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor BadPlacement = new(
        "DPW008", "Field placement is invalid",
        "Field '{0}': {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor BadChecksumField = new(
        "DPW009", "Checksum field must be a 16-bit word",
        "Checksum field '{0}' must be an unsigned 16-bit field at an even byte offset",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor ExpectDoesNotFit = new(
        "DPW010", "Expected value does not fit the field",
        "[Expect({0})] on '{1}' does not fit in {2} bits",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor BadLength = new(
        "DPW011", "Header length is invalid",
        "'{0}': {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static DiagnosticDescriptor ById(string id) => id switch
    {
        "DPW001" => NotPartialRefStruct,
        "DPW002" => OverlappingFields,
        "DPW003" => WidthDoesNotFit,
        "DPW004" => OutsideHeader,
        "DPW005" => UnsupportedType,
        "DPW006" => UnknownLengthField,
        "DPW007" => MissingPlacement,
        "DPW008" => BadPlacement,
        "DPW009" => BadChecksumField,
        "DPW010" => ExpectDoesNotFit,
        "DPW011" => BadLength,
        _ => throw new System.ArgumentException($"no diagnostic {id}: a generator bug", nameof(id)),
    };
}
