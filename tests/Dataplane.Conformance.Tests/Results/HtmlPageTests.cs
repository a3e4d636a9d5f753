using System.Text.RegularExpressions;
using Dataplane.Conformance.Model;
using Dataplane.Conformance.Results;

namespace Dataplane.Conformance.Tests.Results;

public sealed partial class HtmlPageTests : IDisposable
{
    private readonly string _results = Directory.CreateTempSubdirectory("dpc-page-").FullName;

    public void Dispose() => Directory.Delete(_results, recursive: true);

    private static readonly DateTimeOffset Older = new(2026, 11, 24, 22, 15, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Newer = new(2026, 11, 25, 1, 2, 3, TimeSpan.Zero);

    private static Result Ok(string test, double bits, string log) => new(test, Status.Pass, "", bits, "recv", log, 10);

    /// <summary>
    /// Two runs: the older (afpacket) passes everything; the newer (tap direct) has a NOTERM, an
    /// XPASS, a FAIL whose message is markup, and lacks one test the older has.
    /// </summary>
    private List<(Run Run, string Folder)> SaveTwoRuns()
    {
        var older = new Run("2026-11-24T22-15-00-afpacket", Older, "two-hosts", "afpacket", [], "0123456789abcdef", "lab1",
        [
            new Row("tcp4-forward", "IPv4 TCP forward", Ok("tcp4-forward", 4e9, "dataplane/tcp4-forward.log"), Ok("tcp4-forward", 8e9, "linux/tcp4-forward.log")),
            new Row("udp4-forward", "IPv4 UDP forward", Ok("udp4-forward", 1e9, "dataplane/udp4-forward.log"), null),
            new Row("only-old", "dropped from the catalog", Ok("only-old", 2e6, "dataplane/only-old.log"), null),
        ]);
        var newer = new Run("2026-11-25T01-02-03-tap-direct", Newer, "two-hosts", "tap", ["direct"], "fedcba9876543210", "lab2",
        [
            new Row("tcp4-forward", "IPv4 TCP forward", Ok("tcp4-forward", 1.6e9, "dataplane/tcp4-forward.log"), Ok("tcp4-forward", 3.2e9, "linux/tcp4-forward.log")),
            new Row("udp4-forward", "IPv4 UDP forward",
                new Result("udp4-forward", Status.Noterm, "aborted after 30 s", null, null, "dataplane/udp4-forward.log", 30), null),
            new Row("tcp6-forward", "IPv6 TCP forward",
                new Result("tcp6-forward", Status.Xpass, "ip6: 3 bad header", 9.84e8, "recv", "dataplane/tcp6-forward.log", 10),
                Ok("tcp6-forward", 1.968e9, "linux/tcp6-forward.log")),
            new Row("tcp4-splice", "splice <relay>",
                new Result("tcp4-splice", Status.Fail, "<script>alert(1)</script> & more", null, null, "dataplane/tcp4-splice.log", 5), null),
        ]);
        var runs = new List<(Run, string)>();
        foreach (Run run in (Run[])[older, newer])
        {
            string folder = Path.Combine(_results, run.Id);
            RunStore.Save(run, folder);
            foreach (Row row in run.Rows)
            {
                foreach (Result? result in (Result?[])[row.Dataplane, row.Linux])
                {
                    if (result?.Log is string log)
                    {
                        Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(folder, log))!);
                        File.WriteAllText(Path.Combine(folder, log), result.ToResultLines());
                    }
                }
            }
            runs.Add((run, folder));
        }
        return runs;
    }

    private static string Body(string html) => html[html.IndexOf("<body>", StringComparison.Ordinal)..];

    private static List<string> TestRows(string html) =>
        [.. TestRowRegex().Matches(Body(html)).Select(m => m.Groups[1].Value)];

    [GeneratedRegex("<tr><th scope=\"row\" class=\"test\">([^<]*)</th>")]
    private static partial Regex TestRowRegex();

    [GeneratedRegex("href=\"([^\"]*)\"")]
    private static partial Regex HrefRegex();

    [Fact]
    public void Rows_are_ordered_by_the_newest_runs_severity_and_rows_it_lacks_come_last()
    {
        string html = HtmlPage.Render(SaveTwoRuns(), _results);

        // NOTERM > XPASS > FAIL > PASS in the enum's severity order; only-old is not in the newest run.
        Assert.Equal(["udp4-forward", "tcp6-forward", "tcp4-splice", "tcp4-forward", "only-old"], TestRows(html));
    }

    [Fact]
    public void Passing_rows_keep_the_catalog_order_among_themselves()
    {
        Run run = new("r", Newer, "lab", "tap", [], "c", "h",
        [
            new Row("b", "", Ok("b", 1, "b.log"), null),
            new Row("a", "", Ok("a", 1, "a.log"), null),
            new Row("c", "", Ok("c", 1, "c.log"), null),
        ]);

        Assert.Equal(["b", "a", "c"], TestRows(HtmlPage.Render([(run, Path.Combine(_results, "r"))], _results)));
    }

    [Fact]
    public void The_newest_run_is_the_first_column()
    {
        string html = HtmlPage.Render(SaveTwoRuns(), _results);

        int newer = html.IndexOf("2026-11-25 01:02 UTC", StringComparison.Ordinal);
        int older = html.IndexOf("2026-11-24 22:15 UTC", StringComparison.Ordinal);
        Assert.True(newer >= 0 && older > newer);
        Assert.True(html.IndexOf("tap direct", StringComparison.Ordinal) < html.IndexOf("afpacket", StringComparison.Ordinal));
        Assert.Contains("fedcba9876<", html);
        Assert.DoesNotContain("fedcba98765", html);
    }

    [Fact]
    public void A_cell_shows_the_value_in_human_units_and_its_percentage_of_linux()
    {
        string html = HtmlPage.Render(SaveTwoRuns(), _results);

        Assert.Contains("1.60 Gbit/s", html);
        Assert.Contains("50.0% of Linux", html);
        Assert.Contains("linux</a> 3.20 Gbit/s", html);
    }

    [Theory]
    [InlineData(1.6e9, "1.60 Gbit/s")]
    [InlineData(9.84e8, "984 Mbit/s")]
    [InlineData(12300, "12.3 kbit/s")]
    [InlineData(999.7e6, "1.00 Gbit/s")]
    [InlineData(42, "42.0 bit/s")]
    public void Bits_per_second_are_written_in_three_significant_digits(double bits, string text) =>
        Assert.Equal(text, HtmlPage.FormatBits(bits));

    [Fact]
    public void An_xpass_cell_is_marked_and_keeps_its_value()
    {
        string html = HtmlPage.Render(SaveTwoRuns(), _results);

        Match cell = Regex.Match(html, "<td class=\"cell s-xpass\"[^>]*>(.*?)</td>");
        Assert.True(cell.Success);
        Assert.Contains("<span class=\"status\">XPASS</span> 984 Mbit/s", cell.Value);
        Assert.Contains("50.0% of Linux", cell.Value);
        Assert.Contains("ip6: 3 bad header", cell.Value);
    }

    [Fact]
    public void Tool_output_is_escaped()
    {
        string html = HtmlPage.Render(SaveTwoRuns(), _results);

        Assert.DoesNotContain("<script>", html);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more", html);
        Assert.Contains("title=\"&lt;script&gt;", html);
        Assert.Contains("splice &lt;relay&gt;", html);
        Assert.Equal("a\uFFFDb", HtmlPage.Escape("a\u001bb"));
    }

    [Fact]
    public void Log_links_are_relative_paths_to_existing_files()
    {
        string html = HtmlPage.Render(SaveTwoRuns(), _results);

        List<string> hrefs = [.. HrefRegex().Matches(html).Select(m => m.Groups[1].Value)];
        Assert.Equal(10, hrefs.Count); // 7 dataplane logs, 3 Linux logs
        foreach (string href in hrefs)
        {
            Assert.False(Path.IsPathRooted(href));
            Assert.DoesNotContain('\\', href);
            Assert.True(File.Exists(Path.Combine(_results, Uri.UnescapeDataString(href))), href);
        }
        Assert.Contains("href=\"2026-11-25T01-02-03-tap-direct/linux/tcp6-forward.log\">linux</a>", html);
    }

    [Fact]
    public void Link_segments_are_url_escaped()
    {
        string href = HtmlPage.Href(_results, Path.Combine(_results, "run 1"), "logs/a#b?.log");

        Assert.Equal("run%201/logs/a%23b%3F.log", href);
    }

    [Fact]
    public void The_pass_rate_row_counts_the_dataplanes_statuses_per_run()
    {
        string html = HtmlPage.Render(SaveTwoRuns(), _results);

        string row = Regex.Match(html, "<tr class=\"passrate\">.*?</tr>").Value;
        int newer = row.IndexOf("1 of 4 passed (25.0%)", StringComparison.Ordinal);
        int older = row.IndexOf("3 of 3 passed (100.0%)", StringComparison.Ordinal);
        Assert.True(newer >= 0 && older > newer, row);
        Assert.Contains("1 FAIL · 1 XPASS · 1 NOTERM", row);
        Assert.True(row.Length > 0 && html.IndexOf(row, StringComparison.Ordinal) < html.IndexOf("<th scope=\"row\" class=\"test\">udp4-forward", StringComparison.Ordinal));
    }

    [Fact]
    public void A_test_missing_from_a_run_leaves_its_cell_empty()
    {
        string html = HtmlPage.Render(SaveTwoRuns(), _results);

        string row = Regex.Match(html, "<tr><th scope=\"row\" class=\"test\">only-old</th>.*?</tr>").Value;
        Assert.StartsWith("<tr><th scope=\"row\" class=\"test\">only-old</th><td class=\"desc\">dropped from the catalog</td><td class=\"missing\"></td><td class=\"cell s-pass\"", row);
    }

    [Fact]
    public void The_legend_lists_every_status_in_severity_order()
    {
        string html = HtmlPage.Render([], _results);

        string legend = html[html.IndexOf("<h2>Legend</h2>", StringComparison.Ordinal)..];
        int last = -1;
        foreach (Status status in StatusInfo.All)
        {
            int at = legend.IndexOf($">{status.Name()}</span></td><td>{HtmlPage.Escape(status.Meaning())}</td>", StringComparison.Ordinal);
            Assert.True(at > last, status.Name());
            last = at;
        }
    }

    [Fact]
    public void Write_puts_a_self_contained_index_html_in_the_results_folder()
    {
        SaveTwoRuns();

        string path = HtmlPage.Write(_results);

        Assert.Equal(Path.Combine(_results, "index.html"), path);
        string html = File.ReadAllText(path);
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Contains("<meta charset=\"utf-8\">", html);
        Assert.Contains("tcp6-forward", html);
        Assert.Contains("2026-11-25 01:02 UTC", html);
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        Assert.DoesNotContain("src=", html);
        Assert.DoesNotContain("url(", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("<link", html);
        Assert.Empty(Directory.GetFiles(_results, "*.tmp"));
    }
}
