using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Dataplane.Generators.WireFormat;

public sealed partial class WireFormatGenerator
{
    /// <summary>Turns a <c>[WireHeader]</c> declaration into a <see cref="HeaderModel"/>.</summary>
    internal static class Parser
    {
        private const string Ns = "Dataplane.Wire.";

        public static ParseResult Parse(GeneratorAttributeSyntaxContext ctx, CancellationToken ct)
        {
            var type = (INamedTypeSymbol)ctx.TargetSymbol;
            var syntax = (StructDeclarationSyntax)ctx.TargetNode;
            var diagnostics = ImmutableArray.CreateBuilder<DiagnosticInfo>();
            LocationInfo? typeLocation = LocationInfo.From(syntax.Identifier.GetLocation());

            bool isPartial = syntax.Modifiers.Any(SyntaxKind.PartialKeyword);
            if (!type.IsRefLikeType || !type.IsReadOnly || !isPartial || type.ContainingType is not null || type.IsGenericType)
            {
                diagnostics.Add(Diag("DPW001", typeLocation, type.Name));
                return new ParseResult(null, diagnostics.ToImmutable());
            }

            AttributeData header = ctx.Attributes[0];
            int fixedLength = header.ConstructorArguments.Length > 0 && header.ConstructorArguments[0].Value is int l ? l : 0;
            if (fixedLength <= 0)
                diagnostics.Add(Diag("DPW011", typeLocation, type.Name, $"the fixed length must be positive, not {fixedLength}"));

            var fields = ImmutableArray.CreateBuilder<FieldModel>();
            var fieldLocations = new Dictionary<string, LocationInfo?>();
            foreach (IPropertySymbol property in type.GetMembers().OfType<IPropertySymbol>())
            {
                ct.ThrowIfCancellationRequested();
                if (!property.IsPartialDefinition)
                    continue; // hand-written members live beside the generated ones
                FieldModel? field = ParseField(property, fixedLength, type.Name, diagnostics);
                if (field is not null)
                {
                    fields.Add(field);
                    fieldLocations[field.Name] = LocationInfo.From(property.Locations.FirstOrDefault());
                }
            }

            CheckOverlaps(fields, fieldLocations, diagnostics);

            LengthRule? headerLength = null, totalLength = null;
            var extra = ImmutableArray.CreateBuilder<LengthRule>();
            int? optionFormat = null;
            RecordsModel? records = null;
            foreach (AttributeData a in type.GetAttributes())
            {
                switch (a.AttributeClass?.ToDisplayString())
                {
                    case Ns + "HeaderLengthAttribute":
                        headerLength = ParseLengthRule(a, "HeaderLength", fields, type.Name, typeLocation, diagnostics);
                        break;
                    case Ns + "TotalLengthAttribute":
                        totalLength = ParseLengthRule(a, "TotalLength", fields, type.Name, typeLocation, diagnostics);
                        break;
                    case Ns + "ExtraLengthAttribute":
                        if (ParseLengthRule(a, "ExtraLength", fields, type.Name, typeLocation, diagnostics) is { } rule)
                            extra.Add(rule);
                        break;
                    case Ns + "OptionsAttribute":
                        optionFormat = a.ConstructorArguments[0].Value as int?;
                        break;
                    case Ns + "RecordsAttribute":
                        if (a.ConstructorArguments[0].Value is INamedTypeSymbol recordType && a.ConstructorArguments[1].Value is string count)
                        {
                            if (!recordType.GetAttributes().Any(r => r.AttributeClass?.ToDisplayString() == WireHeaderAttribute))
                                diagnostics.Add(Diag("DPW011", typeLocation, type.Name, $"[Records] names '{recordType.Name}', which is not a [WireHeader] struct"));
                            else if (fields.Any(f => f.Name == count))
                                records = new RecordsModel(recordType.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat), count);
                            else
                                diagnostics.Add(Diag("DPW006", typeLocation, "Records", count, type.Name));
                        }
                        break;
                }
            }

            if (diagnostics.Count > 0)
                return new ParseResult(null, diagnostics.ToImmutable());

            string ns = type.ContainingNamespace.IsGlobalNamespace ? "" : type.ContainingNamespace.ToDisplayString();
            var model = new HeaderModel(
                ns, type.Name, AccessibilityText(type.DeclaredAccessibility), fixedLength,
                headerLength, extra.ToImmutable(), totalLength, optionFormat, records,
                fields.OrderBy(f => f.Bit).ToImmutableArray());
            return new ParseResult(model, ImmutableArray<DiagnosticInfo>.Empty);
        }

        private static FieldModel? ParseField(IPropertySymbol property, int fixedLength, string typeName, ImmutableArray<DiagnosticInfo>.Builder diagnostics)
        {
            LocationInfo? location = LocationInfo.From(property.Locations.FirstOrDefault());
            AttributeData? field = null, bits = null, expect = null, checksum = null;
            foreach (AttributeData a in property.GetAttributes())
            {
                switch (a.AttributeClass?.ToDisplayString())
                {
                    case Ns + "FieldAttribute": field = a; break;
                    case Ns + "BitsAttribute": bits = a; break;
                    case Ns + "ExpectAttribute": expect = a; break;
                    case Ns + "ChecksumAttribute": checksum = a; break;
                }
            }
            if ((field is null) == (bits is null))
            {
                diagnostics.Add(Diag("DPW007", location, property.Name));
                return null;
            }

            if (!Classify(property.Type, out FieldKind kind, out string storage, out int typeBits))
            {
                diagnostics.Add(Diag("DPW005", location, property.Name, property.Type.ToDisplayString()));
                return null;
            }

            int bit, width;
            bool littleEndian = false;
            if (field is not null)
            {
                int offset = (int)field.ConstructorArguments[0].Value!;
                littleEndian = Named(field, "ByteOrder") is int order && order == 1;
                if (kind == FieldKind.Boolean)
                {
                    diagnostics.Add(Diag("DPW008", location, property.Name, "a bool field is a single bit: declare it with [Bits(bit, 1)]"));
                    return null;
                }
                if (offset < 0)
                {
                    diagnostics.Add(Diag("DPW008", location, property.Name, $"offset {offset} is negative"));
                    return null;
                }
                bit = offset * 8;
                width = typeBits;
            }
            else
            {
                bit = (int)bits!.ConstructorArguments[0].Value!;
                width = (int)bits.ConstructorArguments[1].Value!;
                if (bit < 0 || width <= 0)
                {
                    diagnostics.Add(Diag("DPW008", location, property.Name, $"bit {bit} and width {width} must be non-negative and positive"));
                    return null;
                }
                if (kind == FieldKind.WireValue)
                {
                    diagnostics.Add(Diag("DPW008", location, property.Name, "a [WireValue] field is placed with [Field(offset)]"));
                    return null;
                }
                if (width > typeBits)
                {
                    diagnostics.Add(Diag("DPW003", location, property.Name, width.ToString(), property.Type.ToDisplayString(), typeBits.ToString()));
                    return null;
                }
                if (width > 57 && bit % 8 != 0)
                {
                    diagnostics.Add(Diag("DPW008", location, property.Name, "an unaligned bit field can be at most 57 bits wide"));
                    return null;
                }
            }
            if (littleEndian && (bit % 8 != 0 || width % 8 != 0))
            {
                diagnostics.Add(Diag("DPW008", location, property.Name, "little-endian byte order needs a byte-aligned field"));
                return null;
            }

            if ((bit + width + 7) / 8 > fixedLength)
            {
                diagnostics.Add(Diag("DPW004", location, property.Name, ((bit + width + 7) / 8).ToString(), fixedLength.ToString(), typeName));
                return null;
            }
            int spanned = (bit + width - 1) / 8 - bit / 8 + 1;
            int container = spanned <= 1 ? 1 : spanned <= 2 ? 2 : spanned <= 4 ? 4 : 8;
            if (container > fixedLength)
            {
                // Bit fields are read as one 1, 2, 4 or 8-byte word inside the fixed part.
                diagnostics.Add(Diag("DPW008", location, property.Name, $"a field spanning {spanned} bytes is read as a {container}-byte word, longer than the fixed length {fixedLength}"));
                return null;
            }

            ulong? expected = null;
            if (expect is not null && kind == FieldKind.WireValue)
            {
                diagnostics.Add(Diag("DPW008", location, property.Name, "[Expect] needs an integer, bool or enum field"));
                return null;
            }
            if (expect is not null)
            {
                expected = System.Convert.ToUInt64(expect.ConstructorArguments[0].Value);
                if (width < 64 && expected.Value >> width != 0)
                {
                    diagnostics.Add(Diag("DPW010", location, expected.Value.ToString(), property.Name, width.ToString()));
                    return null;
                }
            }

            ChecksumModel? checksumModel = null;
            if (checksum is not null)
            {
                if (bit % 16 != 0 || width != 16 || storage != "ushort" || kind != FieldKind.Integer)
                {
                    diagnostics.Add(Diag("DPW009", location, property.Name));
                    return null;
                }
                checksumModel = new ChecksumModel(
                    (int)checksum.ConstructorArguments[0].Value!,
                    Named(checksum, "PseudoHeaderProtocol") is byte p ? p : (byte)0,
                    Named(checksum, "ZeroMeansNone") is true);
            }

            bool isFlags = kind == FieldKind.Enum
                && property.Type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == "System.FlagsAttribute");

            if (property.GetMethod is null)
            {
                diagnostics.Add(Diag("DPW008", location, property.Name, "a field needs a getter"));
                return null;
            }

            return new FieldModel(
                property.Name,
                AccessibilityText(property.DeclaredAccessibility),
                property.Type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                kind, storage, bit, width, littleEndian,
                property.SetMethod is not null,
                expected, checksumModel, isFlags);
        }

        private static bool Classify(ITypeSymbol type, out FieldKind kind, out string storage, out int bits)
        {
            kind = FieldKind.Integer;
            storage = "";
            bits = 0;
            ITypeSymbol underlying = type;
            if (type.TypeKind == TypeKind.Enum && type is INamedTypeSymbol { EnumUnderlyingType: { } u })
            {
                kind = FieldKind.Enum;
                underlying = u;
            }
            switch (underlying.SpecialType)
            {
                case SpecialType.System_Boolean when kind == FieldKind.Integer:
                    kind = FieldKind.Boolean; storage = "byte"; bits = 1; return true;
                case SpecialType.System_Byte: storage = "byte"; bits = 8; return true;
                case SpecialType.System_SByte: storage = "sbyte"; bits = 8; return true;
                case SpecialType.System_UInt16: storage = "ushort"; bits = 16; return true;
                case SpecialType.System_Int16: storage = "short"; bits = 16; return true;
                case SpecialType.System_UInt32: storage = "uint"; bits = 32; return true;
                case SpecialType.System_Int32: storage = "int"; bits = 32; return true;
                case SpecialType.System_UInt64: storage = "ulong"; bits = 64; return true;
                case SpecialType.System_Int64: storage = "long"; bits = 64; return true;
            }
            AttributeData? wireValue = type.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == Ns + "WireValueAttribute");
            if (kind == FieldKind.Integer && type.IsValueType && wireValue?.ConstructorArguments[0].Value is int size && size > 0)
            {
                kind = FieldKind.WireValue;
                storage = type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
                bits = size * 8;
                return true;
            }
            return false;
        }

        private static void CheckOverlaps(ImmutableArray<FieldModel>.Builder fields, Dictionary<string, LocationInfo?> locations, ImmutableArray<DiagnosticInfo>.Builder diagnostics)
        {
            var sorted = fields.OrderBy(f => f.Bit).ToList();
            if (sorted.Count == 0)
                return;
            // Compare each field with the one reaching furthest so far, so a wide field that spans
            // several later ones is caught too.
            FieldModel furthest = sorted[0];
            for (int i = 1; i < sorted.Count; i++)
            {
                FieldModel b = sorted[i];
                if (b.Bit < furthest.Bit + furthest.Width)
                {
                    diagnostics.Add(Diag("DPW002", locations[b.Name], b.Name, b.Bit.ToString(), (b.Bit + b.Width - 1).ToString(),
                        furthest.Name, furthest.Bit.ToString(), (furthest.Bit + furthest.Width - 1).ToString()));
                }
                if (b.Bit + b.Width > furthest.Bit + furthest.Width)
                    furthest = b;
            }
        }

        private static LengthRule? ParseLengthRule(AttributeData a, string what, ImmutableArray<FieldModel>.Builder fields, string typeName, LocationInfo? location, ImmutableArray<DiagnosticInfo>.Builder diagnostics)
        {
            string name = a.ConstructorArguments[0].Value as string ?? "";
            FieldModel? field = fields.FirstOrDefault(f => f.Name == name);
            if (field is null || field.Kind is FieldKind.WireValue or FieldKind.Enum)
            {
                diagnostics.Add(Diag("DPW006", location, what, name, typeName));
                return null;
            }
            if (field.StorageType is "sbyte" or "short" or "int" or "long" or "ulong")
                diagnostics.Add(Diag("DPW011", location, typeName, $"[{what}] field '{name}' must be an unsigned integer of at most 32 bits"));
            int unit = Named(a, "Unit") as int? ?? 1;
            int bias = Named(a, "Bias") as int? ?? 0;
            if (unit <= 0 || unit > 65536)
                diagnostics.Add(Diag("DPW011", location, typeName, $"[{what}] unit must be 1 to 65536, not {unit}"));
            return new LengthRule(name, unit, bias);
        }

        private static object? Named(AttributeData a, string name)
        {
            foreach (KeyValuePair<string, TypedConstant> arg in a.NamedArguments)
            {
                if (arg.Key == name)
                    return arg.Value.Value;
            }
            return null;
        }

        private static string AccessibilityText(Accessibility a) => a switch
        {
            Accessibility.Public => "public",
            Accessibility.Internal => "internal",
            Accessibility.Private => "private",
            _ => "internal",
        };

        private static DiagnosticInfo Diag(string id, LocationInfo? location, params string[] args)
            => new(id, location, ImmutableArray.Create(args));
    }
}
