using Microsoft.CodeAnalysis;

namespace Dataplane.Generators.Tests;

/// <summary>Bad declarations produce compiler diagnostics with their own IDs, at the offending line.</summary>
public class DiagnosticTests
{
    private static Diagnostic Single(string body, string attributes = "[WireHeader(8)]", string keywords = "readonly ref partial struct")
    {
        string source = $$"""
            using Dataplane.Wire;
            namespace Samples;
            {{attributes}}
            public {{keywords}} Bad
            {
            {{body}}
            }
            """;
        var (result, _) = GeneratorHarness.Run(source);
        return Assert.Single(result.Diagnostics);
    }

    private static int Line(Diagnostic d) => d.Location.GetLineSpan().StartLinePosition.Line + 1;

    [Fact]
    public void A_class_is_not_a_header_DPW001()
    {
        Diagnostic d = Single("", keywords: "partial struct");
        Assert.Equal("DPW001", d.Id);
        Assert.Contains("'Bad' must be declared 'readonly ref partial struct'", d.GetMessage());
        Assert.Equal(4, Line(d));
    }

    [Fact]
    public void Overlapping_fields_are_refused_DPW002()
    {
        Diagnostic d = Single("""
                [Field(0)] public partial ushort A { get; set; }
                [Bits(12, 8)] public partial byte B { get; set; }
            """);
        Assert.Equal("DPW002", d.Id);
        Assert.Equal("Field 'B' (bits 12..19) overlaps field 'A' (bits 0..15)", d.GetMessage());
        Assert.Equal(7, Line(d));
    }

    [Fact]
    public void A_wide_field_overlapping_a_later_non_adjacent_field_is_refused_DPW002()
    {
        Diagnostic[] ds = GeneratorHarness.Run("""
            using Dataplane.Wire;
            namespace Samples;
            [WireHeader(8)]
            public readonly ref partial struct Bad
            {
                [Field(0)] public partial uint Wide { get; set; }
                [Field(1)] public partial byte Inner { get; set; }
                [Field(3)] public partial byte Last { get; set; }
            }
            """).Result.Diagnostics.ToArray();
        Assert.All(ds, d => Assert.Equal("DPW002", d.Id));
        Assert.Contains(ds, d => d.GetMessage().StartsWith("Field 'Last'", StringComparison.Ordinal));
    }

    [Fact]
    public void A_bit_field_wider_than_its_type_is_refused_DPW003()
    {
        Diagnostic d = Single("    [Bits(0, 12)] public partial byte A { get; set; }");
        Assert.Equal("DPW003", d.Id);
        Assert.Equal("Field 'A' is 12 bits wide, but its type 'byte' holds 8 bits", d.GetMessage());
    }

    [Fact]
    public void A_field_past_the_fixed_length_is_refused_DPW004()
    {
        Diagnostic d = Single("    [Field(6)] public partial uint A { get; set; }");
        Assert.Equal("DPW004", d.Id);
        Assert.Equal("Field 'A' ends at byte 10, past the fixed length 8 of 'Bad'", d.GetMessage());
    }

    [Fact]
    public void An_unsupported_type_is_refused_DPW005()
    {
        Diagnostic d = Single("    [Field(0)] public partial string A { get; set; }");
        Assert.Equal("DPW005", d.Id);
    }

    [Fact]
    public void A_length_rule_naming_no_field_is_refused_DPW006()
    {
        Diagnostic d = Single("    [Field(0)] public partial byte A { get; set; }", attributes: "[WireHeader(8)][HeaderLength(\"Nope\", Unit = 4)]");
        Assert.Equal("DPW006", d.Id);
        Assert.Equal("[HeaderLength] names 'Nope', which is not a field of 'Bad'", d.GetMessage());
    }

    [Fact]
    public void A_partial_property_without_placement_is_refused_DPW007()
    {
        Diagnostic d = Single("    public partial byte A { get; set; }");
        Assert.Equal("DPW007", d.Id);
    }

    [Fact]
    public void A_bool_placed_on_a_byte_is_refused_DPW008()
    {
        Diagnostic d = Single("    [Field(0)] public partial bool A { get; set; }");
        Assert.Equal("DPW008", d.Id);
    }

    [Fact]
    public void A_checksum_at_an_odd_offset_is_refused_DPW009()
    {
        Diagnostic d = Single("    [Field(1), Checksum(ChecksumScope.Header)] public partial ushort C { get; set; }");
        Assert.Equal("DPW009", d.Id);
    }

    [Fact]
    public void An_expected_value_wider_than_the_field_is_refused_DPW010()
    {
        Diagnostic d = Single("    [Bits(0, 4), Expect(16)] public partial byte V { get; set; }");
        Assert.Equal("DPW010", d.Id);
        Assert.Equal("[Expect(16)] on 'V' does not fit in 4 bits", d.GetMessage());
    }

    [Fact]
    public void A_zero_fixed_length_is_refused_DPW011()
    {
        Diagnostic d = Single("", attributes: "[WireHeader(0)]");
        Assert.Equal("DPW011", d.Id);
    }

    [Fact]
    public void A_refused_declaration_emits_no_source_but_others_still_do()
    {
        var (result, _) = GeneratorHarness.Run(Samples.UdpLike, """
            using Dataplane.Wire;
            namespace Samples;
            [WireHeader(2)]
            public readonly ref partial struct Bad
            {
                [Field(0)] public partial uint TooWide { get; set; }
            }
            """);
        Assert.Equal("DPW004", Assert.Single(result.Diagnostics).Id);
        Assert.Equal("Samples.SampleUdp.g.cs", Assert.Single(result.Results.Single().GeneratedSources).HintName);
    }
}

/// <summary>Declarations that would compile to code reading outside the header, or not compile, are refused.</summary>
public class UnsafeDeclarationTests
{
    private static string Run(string attributes, string body)
    {
        var (result, _) = GeneratorHarness.Run($$"""
            using Dataplane.Wire;
            namespace Samples;
            public enum Kind : ushort { A = 1 }
            public readonly ref partial struct NotAHeader { }
            {{attributes}}
            public readonly ref partial struct Bad
            {
            {{body}}
            }
            """);
        return string.Join(" ", result.Diagnostics.Select(d => d.Id + ": " + d.GetMessage()));
    }

    [Fact]
    public void A_bit_field_whose_word_is_longer_than_the_header_is_refused()
        => Assert.StartsWith("DPW008", Run("[WireHeader(3)]", "    [Bits(4, 16)] public partial ushort A { get; set; }"));

    [Fact]
    public void An_expected_value_on_an_address_is_refused()
        => Assert.StartsWith("DPW008", Run("[WireHeader(4)]", "    [Field(0), Expect(1)] public partial Ipv4Address A { get; set; }"));

    [Fact]
    public void A_checksum_of_an_enum_type_is_refused()
        => Assert.StartsWith("DPW009", Run("[WireHeader(4)]", "    [Field(2), Checksum(ChecksumScope.Header)] public partial Kind C { get; set; }"));

    [Fact]
    public void Records_of_a_type_that_is_not_a_header_are_refused()
        => Assert.StartsWith("DPW011", Run("[WireHeader(4)][Records(typeof(NotAHeader), \"N\")]", "    [Field(2)] public partial ushort N { get; set; }"));

    [Fact]
    public void A_signed_length_field_is_refused()
        => Assert.StartsWith("DPW011", Run("[WireHeader(4)][HeaderLength(\"L\", Unit = 4)]", "    [Field(0)] public partial short L { get; set; }"));
}
