using Microsoft.CodeAnalysis;

namespace Dataplane.Generators.PacketPath;

/// <summary>The diagnostics of the packet-path generator: DPP0xx.</summary>
internal static class PacketPathDiagnostics
{
    private const string Category = "Dataplane.PacketPath";

    public static readonly DiagnosticDescriptor NotAQueueStruct = new(
        "DPP001", "A packet path needs a plain struct",
        "'{0}' is {1}: a packet path is emitted for a struct declared at namespace level, not generic and not a ref struct, which the engine's poller holds by value and is compiled for",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NotAQueuePair = new(
        "DPP002", "A packet path needs an IQueuePair",
        "'{0}' must implement Dataplane.Ports.IQueuePair: its Receive and Transmit are what the packet path calls",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor BadDriverName = new(
        "DPP003", "Driver name is invalid",
        "Driver name '{0}' must be a lower-case word of letters and digits that starts with a letter, as the config names drivers",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor DuplicateDriver = new(
        "DPP004", "Driver name is declared twice",
        "Driver '{0}' already has a packet path, on '{1}': a driver has one queue struct",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor BadFact = new(
        "DPP005", "Receive fact is invalid",
        "'{0}': {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static DiagnosticDescriptor ById(string id) => id switch
    {
        "DPP001" => NotAQueueStruct,
        "DPP002" => NotAQueuePair,
        "DPP003" => BadDriverName,
        "DPP004" => DuplicateDriver,
        "DPP005" => BadFact,
        _ => throw new System.ArgumentException($"no diagnostic {id}: a generator bug", nameof(id)),
    };
}
