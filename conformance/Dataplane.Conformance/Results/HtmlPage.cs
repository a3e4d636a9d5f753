using System.Globalization;
using System.Text;
using Dataplane.Conformance.Model;

namespace Dataplane.Conformance.Results;

/// <summary>
/// The results page, as OpenBSD's netlink regress publishes it: one static HTML table, one row per
/// test, one column per run (newest on the left), a pass-rate row on top, rows ordered by severity.
/// A cell shows the dataplane's value as a percentage of the Linux kernel measured in the same run
/// and is shaded by it; a cell that did not pass shows its status and message. Cells link to the
/// tests' logs. Nothing is loaded from anywhere else: the page opens from a copied folder or file://.
/// </summary>
public static class HtmlPage
{
    /// <summary>The page's name inside the results folder.</summary>
    public const string PageFile = "index.html";

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    private static readonly string[] BitUnits = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"];
    private static readonly int[] ScaleSteps = [0, 25, 50, 75, 100];

    /// <summary>The page's HTML for these runs (oldest first); hrefs are relative to resultsFolder.</summary>
    public static string Render(IReadOnlyList<(Run Run, string Folder)> runs, string resultsFolder)
    {
        var columns = new List<Column>(runs.Count);
        for (int i = runs.Count - 1; i >= 0; i--)
            columns.Add(new Column(runs[i].Run, runs[i].Folder));
        List<Line> lines = OrderLines(columns);

        var html = new StringBuilder(16 * 1024);
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<title>Dataplane conformance</title>\n<style>\n").Append(Css).Append("</style>\n</head>\n<body>\n")
            .Append("<h1>Dataplane conformance</h1>\n");
        if (columns.Count == 0)
        {
            html.Append("<p class=\"lead\">No runs in this results folder yet.</p>\n");
        }
        else
        {
            html.Append("<p class=\"lead\">")
                .Append(lines.Count.ToString(Invariant)).Append(lines.Count == 1 ? " test, " : " tests, ")
                .Append(columns.Count.ToString(Invariant)).Append(columns.Count == 1 ? " run" : " runs, newest first")
                .Append(". A cell shows the dataplane's value and, as a percentage, how it compares with the Linux kernel ")
                .Append("in the same role in the same run. Rows are ordered by the newest run's status, most severe first.</p>\n");
            AppendTable(html, columns, lines, resultsFolder);
        }
        AppendLegend(html);
        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    /// <summary>Loads every run under resultsFolder (RunStore.LoadAll), writes resultsFolder/index.html (atomically: temp file + move), returns its path.</summary>
    public static string Write(string resultsFolder)
    {
        Directory.CreateDirectory(resultsFolder);
        string html = Render(RunStore.LoadAll(resultsFolder), resultsFolder);
        string path = Path.Combine(resultsFolder, PageFile);
        // A reader (a web server, a browser reloading) sees the old page or the new one, never half.
        string temp = $"{path}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temp, html, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        File.Move(temp, path, overwrite: true);
        return path;
    }

    /// <summary>
    /// Every test of every run, once: those in the newest run first, by that run's dataplane status
    /// (most severe first), then in its catalog order; then those the newest run lacks, grouped by
    /// the newest run that has them and ordered the same way within it.
    /// </summary>
    private static List<Line> OrderLines(List<Column> columns)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var lines = new List<Line>();
        for (int c = 0; c < columns.Count; c++)
        {
            IReadOnlyList<Row> rows = columns[c].Run.Rows;
            for (int i = 0; i < rows.Count; i++)
            {
                if (seen.Add(rows[i].Test))
                    lines.Add(new Line(rows[i].Test, rows[i].Description, c, rows[i].Dataplane.Status, i));
            }
        }
        return [.. lines.OrderBy(l => l.NewestColumn).ThenByDescending(l => l.Status).ThenBy(l => l.CatalogIndex)];
    }

    private static void AppendTable(StringBuilder html, List<Column> columns, List<Line> lines, string resultsFolder)
    {
        html.Append("<table>\n<thead>\n<tr><th scope=\"col\" class=\"test\">test</th><th scope=\"col\" class=\"desc\">description</th>");
        foreach (Column column in columns)
        {
            Run run = column.Run;
            string commit = run.Commit.Length > 10 ? run.Commit[..10] : run.Commit;
            html.Append("\n<th scope=\"col\" class=\"run\" title=\"").Append(Escape(run.Id)).Append("\">")
                .Append("<div class=\"date\">").Append(run.Started.UtcDateTime.ToString("yyyy-MM-dd HH:mm", Invariant)).Append(" UTC</div>")
                .Append("<div>").Append(Escape(run.Lab)).Append("</div>")
                .Append("<div class=\"config\">").Append(Escape(run.Configuration)).Append("</div>")
                .Append("<div class=\"commit\">").Append(commit.Length == 0 ? "no commit" : Escape(commit)).Append("</div>")
                .Append("<div class=\"host\">").Append(Escape(run.Host)).Append("</div></th>");
        }
        html.Append("</tr>\n</thead>\n<tbody>\n");
        AppendPassRate(html, columns);
        foreach (Line line in lines)
        {
            html.Append("<tr><th scope=\"row\" class=\"test\">").Append(Escape(line.Test)).Append("</th>")
                .Append("<td class=\"desc\">").Append(Escape(line.Description)).Append("</td>");
            foreach (Column column in columns)
            {
                if (column.ByTest.TryGetValue(line.Test, out Row? row))
                    AppendCell(html, row, column.Folder, resultsFolder);
                else
                    html.Append("<td class=\"missing\"></td>");
            }
            html.Append("</tr>\n");
        }
        html.Append("</tbody>\n</table>\n");
    }

    /// <summary>Per run: how many of its tests passed on the dataplane, and how many ended in each other status.</summary>
    private static void AppendPassRate(StringBuilder html, List<Column> columns)
    {
        html.Append("<tr class=\"passrate\"><th scope=\"row\" class=\"test\">pass rate</th>")
            .Append("<td class=\"desc\">dataplane tests that ended in PASS</td>");
        foreach (Column column in columns)
        {
            IReadOnlyList<Row> rows = column.Run.Rows;
            var counts = new int[StatusInfo.All.Length];
            foreach (Row row in rows)
                counts[(int)row.Dataplane.Status]++;
            int passed = counts[(int)Status.Pass];
            html.Append("<td class=\"cell\"");
            if (rows.Count > 0)
            {
                double rate = 100.0 * passed / rows.Count;
                html.Append(" style=\"").Append(Shade(rate)).Append("\">")
                    .Append("<div class=\"value\">").Append(passed.ToString(Invariant)).Append(" of ")
                    .Append(rows.Count.ToString(Invariant)).Append(" passed (").Append(rate.ToString("0.0", Invariant)).Append("%)</div>");
            }
            else
            {
                html.Append("><div class=\"value\">no tests</div>");
            }
            var others = new List<string>();
            foreach (Status status in StatusInfo.All)
            {
                if (status != Status.Pass && counts[(int)status] > 0)
                    others.Add($"{counts[(int)status].ToString(Invariant)} {status.Name()}");
            }
            if (others.Count > 0)
                html.Append("<div class=\"counts\">").Append(string.Join(" · ", others)).Append("</div>");
            html.Append("</td>");
        }
        html.Append("</tr>\n");
    }

    private static void AppendCell(StringBuilder html, Row row, string runFolder, string resultsFolder)
    {
        Result result = row.Dataplane;
        Status status = result.Status;
        double? percent = row.PercentOfLinux;
        bool passed = status is Status.Pass or Status.Xpass;

        html.Append("<td class=\"cell s-").Append(status.Name().ToLowerInvariant()).Append('"');
        if (passed && percent is double shaded)
            html.Append(" style=\"").Append(Shade(shaded)).Append('"');
        string title = result.Message.Length > 0 ? result.Message
            : result.BitsPerSecond is double exact ? $"{exact.ToString("0", Invariant)} bits/sec {result.Direction}".TrimEnd()
            : status.Name();
        html.Append(" title=\"").Append(Escape(title)).Append("\">");

        // The main line (status word and value) is the link to the dataplane's log.
        html.Append("<div class=\"value\">");
        AppendLinkStart(html, result.Log, runFolder, resultsFolder, "log");
        if (status != Status.Pass)
            html.Append("<span class=\"status\">").Append(status.Name()).Append("</span>");
        if (result.BitsPerSecond is double value)
            html.Append(status != Status.Pass ? " " : "").Append(FormatBits(value));
        else if (status == Status.Pass)
            html.Append("PASS");
        html.Append(result.Log is null ? "</span>" : "</a>").Append("</div>");

        if (percent is double p)
            html.Append("<div class=\"pct\">").Append(FormatPercent(p)).Append(" of Linux</div>");
        if (row.Linux is Result linux)
        {
            html.Append("<div class=\"ref\">");
            AppendLinkStart(html, linux.Log, runFolder, resultsFolder, "linux");
            html.Append("linux").Append(linux.Log is null ? "</span>" : "</a>");
            if (linux.Status != Status.Pass)
                html.Append(' ').Append(linux.Status.Name());
            if (linux.BitsPerSecond is double reference)
                html.Append(' ').Append(FormatBits(reference));
            html.Append("</div>");
        }
        if (status != Status.Pass && result.Message.Length > 0)
            html.Append("<div class=\"msg\">").Append(Escape(result.Message)).Append("</div>");
        html.Append("</td>");
    }

    /// <summary>An &lt;a&gt; to the log when there is one, else a &lt;span&gt; (closed by the caller accordingly).</summary>
    private static void AppendLinkStart(StringBuilder html, string? log, string runFolder, string resultsFolder, string cssClass)
    {
        if (log is null)
            html.Append("<span class=\"").Append(cssClass).Append("\">");
        else
            html.Append("<a class=\"").Append(cssClass).Append("\" href=\"").Append(Escape(Href(resultsFolder, runFolder, log))).Append("\">");
    }

    /// <summary>The path from the results folder to <paramref name="log"/> in the run's folder, as a relative URL.</summary>
    internal static string Href(string resultsFolder, string runFolder, string log)
    {
        string relative = Path.GetRelativePath(resultsFolder, Path.Combine(runFolder, log));
        return string.Join('/', relative.Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar).Select(Uri.EscapeDataString));
    }

    /// <summary>Bits per second in three significant digits and a decimal unit: 1.60 Gbit/s, 984 Mbit/s, 12.3 kbit/s.</summary>
    internal static string FormatBits(double bitsPerSecond)
    {
        double v = bitsPerSecond;
        int unit = 0;
        // 999.5 and up would print as 1000 in this unit, so it is 1.00 in the next one.
        while (Math.Abs(v) >= 999.5 && unit < BitUnits.Length - 1)
        {
            v /= 1000;
            unit++;
        }
        double magnitude = Math.Abs(v);
        string format = magnitude >= 99.95 ? "0" : magnitude >= 9.995 ? "0.0" : "0.00";
        return $"{v.ToString(format, Invariant)} {BitUnits[unit]}";
    }

    /// <summary>A percentage with one decimal: 8.5%, 50.0%, 112.3%.</summary>
    internal static string FormatPercent(double percent) => percent.ToString("0.0", Invariant) + "%";

    /// <summary>A background from red at 0 % through yellow at 50 % to green at 100 % and more.</summary>
    private static string Shade(double percent)
    {
        double hue = 1.2 * Math.Clamp(percent, 0, 100);
        return $"background:hsl({hue.ToString("0", Invariant)},70%,82%)";
    }

    private static void AppendLegend(StringBuilder html)
    {
        html.Append("<h2>Legend</h2>\n<table class=\"legend\">\n<tbody>\n");
        foreach (Status status in StatusInfo.All)
        {
            string style = status is Status.Pass or Status.Xpass ? $" style=\"{Shade(100)}\"" : "";
            html.Append("<tr><td class=\"cell s-").Append(status.Name().ToLowerInvariant()).Append('"').Append(style)
                .Append("><span class=\"status\">").Append(status.Name()).Append("</span></td><td>")
                .Append(Escape(status.Meaning())).Append("</td></tr>\n");
        }
        html.Append("</tbody>\n</table>\n<p class=\"scale\">Shading of passed cells by percentage of Linux: ");
        foreach (int percent in ScaleSteps)
            html.Append("<span style=\"").Append(Shade(percent)).Append("\">").Append(percent.ToString(Invariant)).Append("%</span> ");
        html.Append("(and more). Statuses: the most severe is listed last. An empty cell: the run did not have the test.</p>\n");
    }

    /// <summary>
    /// Text made safe for HTML content and quoted attributes. Controls other than tab and line breaks,
    /// and unpaired surrogates, become U+FFFD: tool output can hold them, and HTML5 does not allow them.
    /// </summary>
    internal static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text))
            return "";
        var escaped = new StringBuilder(text.Length + 16);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            switch (c)
            {
                case '&': escaped.Append("&amp;"); break;
                case '<': escaped.Append("&lt;"); break;
                case '>': escaped.Append("&gt;"); break;
                case '"': escaped.Append("&quot;"); break;
                case '\'': escaped.Append("&#39;"); break;
                case '\t' or '\n' or '\r': escaped.Append(c); break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                        escaped.Append(c).Append(text[++i]);
                    else if (char.IsSurrogate(c) || char.IsControl(c))
                        escaped.Append('\uFFFD');
                    else
                        escaped.Append(c);
                    break;
            }
        }
        return escaped.ToString();
    }

    /// <summary>One run as a column: its rows by test name (the first, should a test appear twice).</summary>
    private sealed class Column
    {
        public Column(Run run, string folder)
        {
            Run = run;
            Folder = folder;
            foreach (Row row in run.Rows)
                ByTest.TryAdd(row.Test, row);
        }

        public Run Run { get; }
        public string Folder { get; }
        public Dictionary<string, Row> ByTest { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>A row of the page: the test, as the newest run that has it (a column index, 0 the newest) describes it.</summary>
    private sealed record Line(string Test, string Description, int NewestColumn, Status Status, int CatalogIndex);

    private const string Css = """
        body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1b1b1b;background:#fff}
        h1{font-size:1.4em;margin:0 0 .3em}
        h2{font-size:1.1em;margin:1.5em 0 .4em}
        p.lead{margin:0 0 1em;color:#444;max-width:60em}
        table{border-collapse:separate;border-spacing:0;font-size:13px}
        th,td{border-right:1px solid #ddd;border-bottom:1px solid #ddd;padding:4px 6px;vertical-align:top;text-align:left}
        thead th{position:sticky;top:0;z-index:2;background:#f3f3f3;border-bottom:2px solid #aaa;font-weight:normal;white-space:nowrap}
        thead th.run .date{font-weight:600}
        thead th.run .config{font-weight:600;color:#0b4f8a}
        thead th.run .commit{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
        thead th.run .host{color:#666}
        .test{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;font-weight:normal;white-space:nowrap;position:sticky;left:0;z-index:1;background:#fff}
        thead th.test{z-index:3;background:#f3f3f3}
        td.desc{color:#444;min-width:14em;max-width:26em}
        tbody tr:hover th.test,tbody tr:hover td.desc{background:#eef4fb}
        tr.passrate th,tr.passrate td{border-bottom:2px solid #aaa;font-weight:600}
        tr.passrate .counts{font-weight:normal;font-size:11px;color:#444}
        td.cell{min-width:8.5em;white-space:nowrap}
        td.cell .value{font-weight:600}
        td.cell .pct{font-size:12px}
        td.cell .ref{font-size:11px;color:#555}
        td.cell .msg{font-size:11px;color:#333;white-space:normal;max-width:20em;overflow-wrap:anywhere}
        td.missing{background:#fafafa}
        a{color:inherit}
        a.log{text-decoration:none}
        a.log:hover{text-decoration:underline}
        .status{font-weight:700;letter-spacing:.03em}
        .s-fail{background:#f7cdc8}
        .s-noexit{background:#f2b8b0}
        .s-noterm{background:#ea9f95}
        .s-norun{background:#e1e1e1;color:#555}
        .s-nolog{background:#2d2d2d;color:#eee}
        .s-nolog .ref,.s-nolog .msg{color:#ccc}
        .s-xpass{box-shadow:inset 0 0 0 2px #c26a00}
        .s-xpass .status{background:#c26a00;color:#fff;border-radius:2px;padding:0 3px;font-size:11px}
        table.legend td{border:none;padding:3px 8px}
        table.legend td.cell{min-width:5em}
        p.scale span{display:inline-block;padding:1px 6px;font-size:12px}

        """;
}
