namespace Dataplane.Generators.PacketPath;

// The model the parser builds and the emitter reads. Immutable records with value equality that
// hold no symbols or syntax nodes, so that the incremental pipeline caches them across edits.

/// <summary>How a driver reports one receive offload; mirrors <c>Dataplane.Ports.OffloadReport</c>.</summary>
internal enum Report
{
    PerFrame = 0,
    Never = 1,
    EveryFrame = 2,
}

/// <summary>One driver's queue struct with <c>[PacketPath]</c>, and the facts its path is compiled on.</summary>
internal sealed record PathModel(
    string Namespace,
    string QueueType,
    string Driver,
    Report Checksum,
    Report RssHash,
    Report Lro)
{
    /// <summary>The emitted poller: <c>TapQueue</c> → <c>TapQueuePath</c>.</summary>
    public string PathType => QueueType + "Path";
}

/// <summary>A driver name and where it was declared, for the check that no two structs claim one.</summary>
internal sealed record DriverDeclaration(string Driver, string QueueType, LocationInfo? Location);

/// <summary>What the parser returns for one declaration: a model to emit, the name it claims, diagnostics.</summary>
internal sealed record ParseResult(PathModel? Model, DriverDeclaration? Declaration, EquatableArray<DiagnosticInfo> Diagnostics);
