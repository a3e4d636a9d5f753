using Microsoft.CodeAnalysis;

namespace Dataplane.Generators.Tests;

/// <summary>
/// The emitted packet paths, compared with the committed snapshots in Snapshots/: what a driver's
/// receive facts change in its loop. After an intended change to the emitter, run the tests with
/// UPDATE_SNAPSHOTS=1 and review the diff of the snapshots.
/// </summary>
public class PacketPathSnapshotTests
{
    [Theory]
    [InlineData(nameof(PacketPathSamples.Nic), "Samples.NicQueuePath.g.cs")]
    [InlineData(nameof(PacketPathSamples.Host), "Samples.HostQueuePath.g.cs")]
    [InlineData(nameof(PacketPathSamples.Loop), "Samples.LoopQueuePath.g.cs")]
    [InlineData(nameof(PacketPathSamples.Checked), "Samples.CheckedQueuePath.g.cs")]
    public void Emitted_path_matches_snapshot(string sample, string hintName)
    {
        string source = (string)typeof(PacketPathSamples).GetField(sample)!.GetValue(null)!;
        var (result, output) = GeneratorHarness.RunPacketPath(source);

        Assert.Empty(GeneratorHarness.Errors(result, output));
        string actual = result.Results.Single().GeneratedSources.Single(s => s.HintName == hintName).SourceText.ToString();
        SnapshotFile.AssertMatches(hintName, actual);
    }

    [Fact]
    public void Every_driver_struct_gets_exactly_one_path_named_after_it()
    {
        var (result, output) = GeneratorHarness.RunPacketPath(PacketPathSamples.Nic, PacketPathSamples.Host, PacketPathSamples.Loop, PacketPathSamples.Checked);

        Assert.Empty(GeneratorHarness.Errors(result, output));
        Assert.Equal(
            ["Samples.CheckedQueuePath.g.cs", "Samples.HostQueuePath.g.cs", "Samples.LoopQueuePath.g.cs", "Samples.NicQueuePath.g.cs"],
            result.Results.Single().GeneratedSources.Select(s => s.HintName).Order());
    }

    [Fact]
    public void Only_a_driver_without_a_usable_hash_hashes_every_frame_and_only_one_that_may_have_it_reads_the_flag()
    {
        var (result, _) = GeneratorHarness.RunPacketPath(PacketPathSamples.Nic, PacketPathSamples.Host, PacketPathSamples.Loop);
        string Path(string hint) => result.Results.Single().GeneratedSources.Single(s => s.HintName == hint).SourceText.ToString();

        string nic = Path("Samples.NicQueuePath.g.cs"), host = Path("Samples.HostQueuePath.g.cs"), loop = Path("Samples.LoopQueuePath.g.cs");
        Assert.DoesNotContain("SoftwareHash", nic, StringComparison.Ordinal);
        Assert.DoesNotContain("m.Offload & OffloadFlags.RssHashValid", nic, StringComparison.Ordinal);
        Assert.Contains("SoftwareHash", host, StringComparison.Ordinal);
        Assert.DoesNotContain("m.Offload & OffloadFlags.RssHashValid", host, StringComparison.Ordinal);
        Assert.Contains("m.Offload & OffloadFlags.RssHashValid", loop, StringComparison.Ordinal);
        // The burst is taken by a direct call on the struct field, in place (NicQueue's Receive mutates it).
        Assert.Contains("int n = _path._queue.Receive(burst);", nic, StringComparison.Ordinal);
        Assert.Contains("private NicQueue _queue;", nic, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_path_hands_the_processor_its_facts_as_declared_constants()
    {
        var (result, output) = GeneratorHarness.RunPacketPath(PacketPathSamples.Checked, PacketPathSamples.Loop);
        string Path(string hint) => result.Results.Single().GeneratedSources.Single(s => s.HintName == hint).SourceText.ToString();

        Assert.Empty(GeneratorHarness.Errors(result, output)); // Facts implements IReceiveFacts: it compiled against the engine
        string @checked = Path("Samples.CheckedQueuePath.g.cs"), loop = Path("Samples.LoopQueuePath.g.cs");
        Assert.Contains("public readonly struct Facts : global::Dataplane.Engine.IReceiveFacts", @checked, StringComparison.Ordinal);
        Assert.Contains("public static OffloadReport Checksum => OffloadReport.EveryFrame;", @checked, StringComparison.Ordinal);
        Assert.Contains("public static OffloadReport Lro => OffloadReport.Never;", @checked, StringComparison.Ordinal);
        Assert.Contains("public static OffloadReport Checksum => OffloadReport.PerFrame;", loop, StringComparison.Ordinal);
        Assert.Contains("public static OffloadReport Lro => OffloadReport.PerFrame;", loop, StringComparison.Ordinal);
        Assert.Contains("worker.Deliver<Facts>(port, packet, hash);", @checked, StringComparison.Ordinal);
        Assert.Contains("worker.Deliver<Facts>(port, packet, hash);", loop, StringComparison.Ordinal);
    }
}
