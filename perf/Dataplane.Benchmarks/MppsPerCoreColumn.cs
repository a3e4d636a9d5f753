using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Dataplane.Benchmarks;

/// <summary>
/// Million packets per second per worker core, from a benchmark whose operation is one packet and
/// whose <c>Workers</c> parameter counts the cores: 1000 / Mean(ns) / Workers.
/// </summary>
public sealed class MppsPerCoreColumn : IColumn
{
    /// <inheritdoc/>
    public string Id => nameof(MppsPerCoreColumn);

    /// <inheritdoc/>
    public string ColumnName => "Mpps/core";

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
    public string Legend => "Million packets per second per worker core: 1000 / Mean(ns) / Workers";

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        if (summary[benchmarkCase]?.ResultStatistics is not { } statistics || statistics.Mean <= 0)
            return "NA";
        int workers = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == "Workers")?.Value is int w ? w : 1;
        return (1000.0 / statistics.Mean / workers).ToString("0.00", CultureInfo.InvariantCulture);
    }

    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;

    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}

/// <summary>The default configuration plus the <see cref="MppsPerCoreColumn"/>.</summary>
public sealed class MppsPerCoreConfig : ManualConfig
{
    /// <summary>Adds the column.</summary>
    public MppsPerCoreConfig() => AddColumn(new MppsPerCoreColumn());
}
