namespace Dataplane.Generators.WireFormat;

// The model the parser builds and the emitter reads. Immutable records with value equality that
// hold no symbols or syntax nodes, so that the incremental pipeline caches them across edits.

/// <summary>One header declaration: a <c>[WireHeader]</c> partial ref struct.</summary>
internal sealed record HeaderModel(
    string Namespace,
    string TypeName,
    string Accessibility,
    int FixedLength,
    LengthRule? HeaderLength,
    EquatableArray<LengthRule> ExtraLengths,
    LengthRule? TotalLength,
    int? OptionFormat,
    RecordsModel? Records,
    EquatableArray<FieldModel> Fields)
{
    /// <summary>The header length is not a constant.</summary>
    public bool IsVariableLength => HeaderLength is not null || ExtraLengths.Count > 0;
}

/// <summary>A length given by a field: <c>value * Unit + Bias</c>.</summary>
internal sealed record LengthRule(string Field, int Unit, int Bias);

/// <summary>Records of another view type laid end to end in the payload.</summary>
internal sealed record RecordsModel(string RecordType, string CountField);

/// <summary>How a field's value is represented in C#.</summary>
internal enum FieldKind
{
    Integer,
    Boolean,
    Enum,
    WireValue,
}

/// <summary>One field: a partial property with <c>[Field]</c> or <c>[Bits]</c>.</summary>
internal sealed record FieldModel(
    string Name,
    string Accessibility,
    string Type,
    FieldKind Kind,
    string StorageType,
    int Bit,
    int Width,
    bool LittleEndian,
    bool HasSetter,
    ulong? Expect,
    ChecksumModel? Checksum,
    bool IsFlags)
{
    public int FirstByte => Bit / 8;
    public int LastByte => (Bit + Width - 1) / 8;
    public bool IsByteAligned => Bit % 8 == 0 && Width % 8 == 0;
}

/// <summary>A checksum field.</summary>
internal sealed record ChecksumModel(int Scope, byte PseudoHeaderProtocol, bool ZeroMeansNone);

/// <summary>What the parser returns for one declaration: a model to emit, diagnostics, or both.</summary>
internal sealed record ParseResult(HeaderModel? Model, EquatableArray<DiagnosticInfo> Diagnostics);
