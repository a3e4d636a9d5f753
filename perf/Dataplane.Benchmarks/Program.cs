using BenchmarkDotNet.Running;

// Runs the microbenchmarks; pass BenchmarkDotNet's arguments through (e.g. --filter '*Checksum*').
// `tcp-memory` instead measures the memory of idle TCP connections (TcpIdleMemory), once.
if (args is ["tcp-memory"])
{
    Dataplane.Benchmarks.TcpIdleMemory.Run();
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Dataplane.Benchmarks.ParseBenchmarks).Assembly).Run(args);
