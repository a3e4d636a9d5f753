using Dataplane.Conformance.Jobs;

namespace Dataplane.Conformance.Tests.Jobs;

public class MainJobReportTests
{
    [Fact]
    public void The_main_job_runs_ping_tcp_with_one_stream_and_fifteen_and_udp_in_both_families()
    {
        Assert.Equal(
            ["icmp4 1", "icmp6 1", "icmp4 1", "icmp6 1", "icmp4 1", "icmp6 1", "tcp4 1", "tcp4 15", "tcp6 1", "tcp6 15", "udp4 1", "udp6 1"],
            JobTest.All.Select(t => $"{t.Kind}{t.Family} {t.Streams}"));
        Assert.Equal(["0.001", "flood", "1"], JobTest.All.Where(t => t.Family == 4 && t.Pings is not null).Select(t => t.Pings!.Value.Interval));
        Assert.All(JobTest.All, t => Assert.Equal(t.Kind == "icmp", t.Pings is not null));
        Assert.Equal(JobTest.All.Length, JobTest.All.Select(t => t.Key).Distinct().Count());
        Assert.Equal(JobTest.All.Length, JobTest.All.Select(t => t.Name).Distinct().Count());
        Assert.All(JobTest.All, t => Assert.StartsWith($"{t.Kind}{t.Family}", t.Name, StringComparison.Ordinal));
    }

    [Fact]
    public void Every_row_of_the_table_lines_up_and_shows_the_ratio()
    {
        string results = Path.GetTempFileName();
        try
        {
            using var log = new StringWriter();
            var report = new MainJobReport(["dataplane", "linux"], results, log, new Colors("", "", "", "", ""));
            foreach (JobTest test in JobTest.All)
            {
                report.Result("linux", test, "PASS", "2000000000", "2.00 Gbit/s", "");
                report.Result("dataplane", test, "PASS", "1000000000", "1.00 Gbit/s", "");
            }
            report.Table(); // the terminal's copy goes to the test's output; job.log's is read here
            string[] rows = [.. log.ToString().Split('\n').Where(l => l.Contains(" | ", StringComparison.Ordinal) && !l.StartsWith("test", StringComparison.Ordinal))];
            Assert.Equal(JobTest.All.Length, rows.Length);
            Assert.Single(rows.Select(r => r.IndexOf('|', StringComparison.Ordinal)).Distinct());
            Assert.All(rows, r => Assert.EndsWith("| 0.50", r.TrimEnd(), StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(results);
        }
    }
}
