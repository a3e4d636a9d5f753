using Microsoft.CodeAnalysis;

namespace Dataplane.Generators.Tests;

/// <summary>Misused [PacketPath] declarations are compiler errors DPP0xx at the declaration, and emit nothing.</summary>
public class PacketPathDiagnosticTests
{
    private const string Members = """
            public int Receive(Span<PacketBuffer> burst) => 0;
            public int Transmit(ReadOnlySpan<PacketBuffer> burst) => 0;
            public FileDescriptor? ReadinessDescriptor => null;
        """;

    private static string Source(string declaration, string body = Members) => $$"""
        using System;
        using Dataplane.Buffers;
        using Dataplane.Native;
        using Dataplane.Ports;
        namespace Samples;
        {{declaration}}
        {
        {{body}}
        }
        """;

    /// <summary>The generator's diagnostics (the compiler's own, such as CS0592 for the attribute's target, are not asked for).</summary>
    private static Diagnostic Single(string source, out GeneratorDriverRunResult result)
    {
        (result, _) = GeneratorHarness.RunPacketPath(source);
        return Assert.Single(result.Diagnostics);
    }

    private static Diagnostic Single(string source) => Single(source, out _);

    private static int Line(Diagnostic d) => d.Location.GetLineSpan().StartLinePosition.Line + 1;

    [Fact]
    public void A_class_has_no_packet_path_DPP001()
    {
        Diagnostic d = Single(Source("[PacketPath(\"bad\")]\ninternal sealed class BadQueue : IQueuePair"), out GeneratorDriverRunResult result);
        Assert.Equal("DPP001", d.Id);
        Assert.StartsWith("'BadQueue' is a class: a packet path is emitted for a struct", d.GetMessage(), StringComparison.Ordinal);
        Assert.Equal(7, Line(d));
        Assert.Empty(result.Results.Single().GeneratedSources);
    }

    [Theory]
    [InlineData("internal ref struct BadQueue : IQueuePair", "a ref struct")]
    [InlineData("internal struct BadQueue<T> : IQueuePair", "generic")]
    [InlineData("internal record class BadQueue : IQueuePair", "a record class")]
    public void A_type_the_poller_cannot_hold_by_value_and_compile_for_has_no_packet_path_DPP001(string declaration, string what)
    {
        Diagnostic d = Single(Source("[PacketPath(\"bad\")]\n" + declaration));
        Assert.Equal("DPP001", d.Id);
        Assert.StartsWith($"'BadQueue' is {what}:", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_nested_struct_has_no_packet_path_DPP001()
    {
        Diagnostic d = Single(Source("internal static class Outer", "    [PacketPath(\"bad\")] internal struct BadQueue : IQueuePair { " + Members.Replace('\n', ' ') + " }"));
        Assert.Equal("DPP001", d.Id);
        Assert.StartsWith("'BadQueue' is nested in 'Outer':", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_struct_that_is_not_a_queue_pair_has_no_packet_path_DPP002()
    {
        Diagnostic d = Single(Source("[PacketPath(\"bad\")]\ninternal struct BadQueue"), out GeneratorDriverRunResult result);
        Assert.Equal("DPP002", d.Id);
        Assert.Equal("'BadQueue' must implement Dataplane.Ports.IQueuePair: its Receive and Transmit are what the packet path calls", d.GetMessage());
        Assert.Equal(7, Line(d));
        Assert.Empty(result.Results.Single().GeneratedSources);
    }

    [Theory]
    [InlineData("Tap")]
    [InlineData("af-packet")]
    [InlineData("0tap")]
    [InlineData("")]
    public void A_driver_name_the_config_could_not_name_is_refused_DPP003(string name)
    {
        Diagnostic d = Single(Source($"[PacketPath(\"{name}\")]\ninternal struct BadQueue : IQueuePair"));
        Assert.Equal("DPP003", d.Id);
        Assert.StartsWith($"Driver name '{name}' must be a lower-case word", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_driver_name_claimed_by_two_structs_is_refused_at_the_second_DPP004()
    {
        string first = Source("[PacketPath(\"tap\")]\ninternal struct FirstQueue : IQueuePair");
        string second = Source("[PacketPath(\"tap\")]\ninternal struct SecondQueue : IQueuePair");
        var (result, _) = GeneratorHarness.RunPacketPath(first, second);

        Diagnostic d = Assert.Single(result.Diagnostics);
        Assert.Equal("DPP004", d.Id);
        Assert.Equal("Driver 'tap' already has a packet path, on 'FirstQueue': a driver has one queue struct", d.GetMessage());
        Assert.Equal("Sample1.cs", d.Location.GetLineSpan().Path);
    }

    [Fact]
    public void Lro_on_every_frame_is_not_a_fact_a_driver_can_promise_DPP005()
    {
        Diagnostic d = Single(Source("[PacketPath(\"bad\", Lro = OffloadReport.EveryFrame)]\ninternal struct BadQueue : IQueuePair"));
        Assert.Equal("DPP005", d.Id);
        Assert.StartsWith("'BadQueue': Lro cannot be EveryFrame", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_report_outside_the_enum_is_refused_DPP005()
    {
        Diagnostic d = Single(Source("[PacketPath(\"bad\", RssHash = (OffloadReport)7)]\ninternal struct BadQueue : IQueuePair"));
        Assert.Equal("DPP005", d.Id);
        Assert.Equal("'BadQueue': RssHash = 7 is not an OffloadReport (PerFrame, Never or EveryFrame)", d.GetMessage());
    }

    [Fact]
    public void A_refused_declaration_emits_no_path_but_others_still_do()
    {
        var (result, _) = GeneratorHarness.RunPacketPath(
            PacketPathSamples.Host, Source("[PacketPath(\"bad\")]\ninternal struct BadQueue"));

        Assert.Equal("DPP002", Assert.Single(result.Diagnostics).Id);
        Assert.Equal("Samples.HostQueuePath.g.cs", Assert.Single(result.Results.Single().GeneratedSources).HintName);
    }
}
