namespace Dataplane.Tests;

/// <summary>
/// The collection of the CPU-heavy tests: producer and consumer threads that spin, millions of
/// iterations, 32 MiB routing tables built over and over. xunit runs test classes in parallel, and
/// on two cores these would run beside the root lab tests, whose dataplane runs in this process (a
/// garbage collection stops it too) and whose Linux peers keep time: every limit of a lab test would
/// be tighter, and flood pings lose packets. With parallelization disabled, xunit runs this
/// collection on its own, after the parallel ones. A file of its own so that the wire tests link it.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CpuHeavyCollection
{
    /// <summary>The collection's name, for <c>[Collection(CpuHeavyCollection.Name)]</c>.</summary>
    public const string Name = "CPU heavy";
}
