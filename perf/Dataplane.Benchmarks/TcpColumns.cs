using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Dataplane.Benchmarks;

/// <summary>A rate worked out from the mean time of one operation: <c>scale / Mean(ns)</c>, with a name and a legend.</summary>
public sealed class RateColumn(string name, string legend, double scale, string format) : IColumn
{
    /// <inheritdoc/>
    public string Id => nameof(RateColumn) + "." + name;

    /// <inheritdoc/>
    public string ColumnName => name;

    /// <inheritdoc/>
    public bool AlwaysShow => true;

    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Custom;

    /// <inheritdoc/>
    public int PriorityInCategory => 0;

    /// <inheritdoc/>
    public bool IsNumeric => true;

    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc/>
    public string Legend => legend;

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        => summary[benchmarkCase]?.ResultStatistics is { Mean: > 0 } statistics
            ? (scale / statistics.Mean).ToString(format, CultureInfo.InvariantCulture)
            : "NA";

    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;

    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}

/// <summary>
/// For benchmarks whose operation is one full segment of payload (<see cref="TcpThroughputBenchmarks.SegmentPayload"/>
/// bytes): Gbit/s of payload and thousands of data segments per second, of the whole run (both ends).
/// </summary>
public sealed class TcpThroughputConfig : ManualConfig
{
    /// <summary>Adds the columns.</summary>
    public TcpThroughputConfig()
    {
        AddColumn(new RateColumn("Gbit/s", "Payload Gbit/s: segment payload * 8 / Mean(ns)", TcpThroughputBenchmarks.SegmentPayload * 8.0, "0.00"));
        AddColumn(new RateColumn("kseg/s", "Thousand data segments per second: 1e6 / Mean(ns)", 1e6, "0"));
    }
}

/// <summary>
/// For benchmarks whose operation is one connection: connections per second. Each invocation
/// opens a fixed batch on a fresh server port (TIME-WAIT holds the four-tuples of the ones
/// before), so the job runs one invocation per iteration.
/// </summary>
public sealed class TcpConnectionConfig : ManualConfig
{
    /// <summary>Adds the column and the job.</summary>
    public TcpConnectionConfig()
    {
        AddColumn(new RateColumn("conn/s", "Connections opened and closed per second: 1e9 / Mean(ns)", 1e9, "0"));
        AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(6).WithInvocationCount(1).WithUnrollFactor(1));
    }
}
