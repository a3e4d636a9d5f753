using System.Globalization;
using System.Text.RegularExpressions;
using Dataplane.Cli;

namespace Dataplane.Tests.Cli;

/// <summary>
/// <c>dataplane bench forward</c>, run in-process (under the JIT here; the same code is the
/// binary's): a row per case with positive rates and nothing allocated per packet, and usage errors.
/// </summary>
[Collection(CpuHeavyCollection.Name)]
public sealed class BenchCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        int code = CommandLine.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Bench_forward_prints_a_row_per_case_with_a_rate_and_no_bytes_allocated_per_packet()
    {
        var (code, stdout, stderr) = Run("bench", "forward", "--workers", "1,2", "--runs", "2", "--packets", "400000");
        Assert.True(code == 0, $"exit {code}: {stderr}\n{stdout}");
        Assert.Equal("", stderr);
        Assert.Contains("bench forward: JIT with dynamic PGO, 64-byte frames, whole stack, 1,000 routes", stdout, StringComparison.Ordinal);
        MatchCollection rows = Regex.Matches(stdout, @"(?m)^(inet6?)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$");
        Assert.Equal(["inet 1", "inet 2", "inet6 1", "inet6 2"], rows.Select(r => $"{r.Groups[1].Value} {r.Groups[2].Value}"));
        foreach (Match row in rows)
        {
            double median = double.Parse(row.Groups[3].Value, CultureInfo.InvariantCulture);
            double best = double.Parse(row.Groups[4].Value, CultureInfo.InvariantCulture);
            double allocated = double.Parse(row.Groups[5].Value, CultureInfo.InvariantCulture);
            Assert.True(median > 0 && best >= median, row.Value);
            // Zero allocations per packet, counted on the workers' own threads (the test host's other tests allocate meanwhile).
            Assert.True(allocated < 0.001, $"bytes allocated per packet: {row.Value}");
        }
    }

    [Theory]
    [InlineData(new[] { "bench" }, "missing what to measure: 'forward'")]
    [InlineData(new[] { "bench", "backward" }, "unknown benchmark 'backward'")]
    [InlineData(new[] { "bench", "forward", "--workers", "0" }, "--workers: '0' is not a list of worker counts")]
    [InlineData(new[] { "bench", "forward", "--family", "ipx" }, "--family: 'ipx' is not inet, inet6 or all")]
    [InlineData(new[] { "bench", "forward", "--packets", "10" }, "--packets: '10' is not a count of at least 100000")]
    [InlineData(new[] { "bench", "forward", "--cores", "1-0" }, "--cores: '1-0' is not a CPU list")]
    [InlineData(new[] { "bench", "forward", "--workers", "2", "--cores", "0" }, "--cores: 1 CPUs for 2 workers")]
    public void Bad_usage_names_the_option_and_exits_2(string[] args, string message)
    {
        var (code, stdout, stderr) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_describes_the_rig_and_every_option()
    {
        var (code, stdout, _) = Run("bench", "--help");
        Assert.Equal(0, code);
        Assert.StartsWith("usage: dataplane bench forward [OPTIONS]", stdout, StringComparison.Ordinal);
        foreach (string option in new[] { "--workers", "--family", "--runs", "--packets", "--cores" })
            Assert.Contains(option, stdout, StringComparison.Ordinal);
    }
}
