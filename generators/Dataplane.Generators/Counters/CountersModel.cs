namespace Dataplane.Generators.Counters;

// The model the parser builds and the emitter reads. Immutable records with value equality that
// hold no symbols or syntax nodes, so that the incremental pipeline caches them across edits.

/// <summary>One counter: its enum member, its netstat line, its JSON key and whether it counts an error.</summary>
internal sealed record CounterModel(string Name, string Text, string Key, bool Error);

/// <summary>One <c>[Counters]</c> enum: a protocol's counters, in the order of their values.</summary>
internal sealed record GroupModel(string Namespace, string EnumType, string Heading, int Order, EquatableArray<CounterModel> Counters)
{
    /// <summary>The group's name in <c>CounterGroup</c> and its array in <c>StackCounters</c>: <c>IpCounter</c> → <c>Ip</c>.</summary>
    public string Member => EnumType.Substring(0, EnumType.Length - CountersGenerator.EnumSuffix.Length);
}

/// <summary>Every group of the compilation, in print order: what the one emitted file is made of.</summary>
internal sealed record CountersModel(string Namespace, EquatableArray<GroupModel> Groups);

/// <summary>What a group claims (heading, order, namespace) and where, for the checks across groups.</summary>
internal sealed record GroupDeclaration(string Namespace, string EnumType, string Heading, int Order, LocationInfo? Location);

/// <summary>What the parser returns for one enum: a model to emit, its claims, diagnostics.</summary>
internal sealed record ParseResult(GroupModel? Model, GroupDeclaration? Declaration, EquatableArray<DiagnosticInfo> Diagnostics);
