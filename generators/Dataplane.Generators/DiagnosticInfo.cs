using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Dataplane.Generators;

// Shared by the generators: diagnostics travel through the incremental pipeline as values, and
// become Diagnostic objects only in the output stage.

/// <summary>A diagnostic carried as data until the output stage reports it.</summary>
internal sealed record DiagnosticInfo(string Id, LocationInfo? Location, EquatableArray<string> Arguments);

/// <summary>A location that compares by value.</summary>
internal sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
{
    public Location ToLocation() => Location.Create(FilePath, Span, LineSpan);

    public static LocationInfo? From(Location? location)
        => location is null || location.SourceTree is null
            ? null
            : new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);
}
