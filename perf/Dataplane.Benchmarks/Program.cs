using BenchmarkDotNet.Running;

// Runs the microbenchmarks; pass BenchmarkDotNet's arguments through (e.g. --filter '*Checksum*').
BenchmarkSwitcher.FromAssembly(typeof(Dataplane.Benchmarks.ParseBenchmarks).Assembly).Run(args);
