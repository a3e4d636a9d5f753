using System.Globalization;
using System.Text;

namespace Dataplane.Conformance.Jobs;

/// <summary>A cell of a relay benchmark table: its status (OpenBSD's), the figure in the table's unit when it has one, what is shown, why it did not pass.</summary>
internal sealed record BenchCell(string Status, double? Value, string Shown, string Message)
{
    /// <summary>A cell that could not run, for <paramref name="why"/>.</summary>
    public static BenchCell NotRun(string why) => new("NORUN", null, "-", why);

    /// <summary>Whether the cell counts against the run: it was runnable and did not pass (FAIL, NOEXIT, NOTERM).</summary>
    public bool Failed => Status is not ("PASS" or "NORUN");
}

/// <summary>
/// One table of the relay benchmark: a row per router (Linux forwarding, HAProxy, socat, the
/// dataplane's relays), a column per load (iperf3 streams, one wrk column, one memory column),
/// then the ratio rows (a dataplane row over a reference row, column by column, where both passed),
/// then why each cell that did not pass did not, a row's cells said once when they share the reason.
/// </summary>
internal sealed class BenchTable(string title, IReadOnlyList<string> columns, IReadOnlyList<string> rows, IReadOnlyList<(string Row, string Reference)> ratios, string format)
{
    private readonly Dictionary<(string Row, string Column), BenchCell> _cells = [];

    /// <summary>The title line (what is measured, in what unit).</summary>
    public string Title => title;

    /// <summary>The columns' names.</summary>
    public IReadOnlyList<string> Columns => columns;

    /// <summary>The rows' names.</summary>
    public IReadOnlyList<string> Rows => rows;

    /// <summary>Sets a cell.</summary>
    public void Set(string row, string column, BenchCell cell)
    {
        if (!rows.Contains(row) || !columns.Contains(column))
            throw new ArgumentException($"no cell {row}/{column} in '{title}'");
        _cells[(row, column)] = cell;
    }

    /// <summary>A cell; a NORUN one when it was never set.</summary>
    public BenchCell Get(string row, string column) => _cells.GetValueOrDefault((row, column)) ?? BenchCell.NotRun("not run");

    /// <summary>Every cell, set or not.</summary>
    public IEnumerable<BenchCell> Cells => rows.SelectMany(r => columns.Select(c => Get(r, c)));

    /// <summary><paramref name="row"/>'s figure over <paramref name="reference"/>'s in <paramref name="column"/>, when both passed with a figure ("-" otherwise).</summary>
    public string Ratio(string row, string reference, string column) =>
        Get(row, column) is { Status: "PASS", Value: double a } && Get(reference, column) is { Status: "PASS", Value: double b and > 0 }
            ? (a / b).ToString("0.00", CultureInfo.InvariantCulture)
            : "-";

    /// <summary>The table as lines of text: header, a line per row, the ratios, the reasons.</summary>
    public IReadOnlyList<string> Lines()
    {
        int first = Math.Max(
            rows.Select(r => r.Length).DefaultIfEmpty(0).Max(),
            ratios.Select(r => $"{r.Row} / {r.Reference}".Length).DefaultIfEmpty(0).Max());
        first = Math.Max(first, 8);
        string Shown(BenchCell c) => c is { Status: "PASS", Value: double v } ? v.ToString(format, CultureInfo.InvariantCulture) : c.Status;
        int width = Math.Max(8, columns.Select(c => c.Length).Concat(_cells.Values.Select(c => Shown(c).Length)).DefaultIfEmpty(0).Max());
        var lines = new List<string> { title };
        string Line(string label, IEnumerable<string> values) =>
            (label.PadRight(first) + string.Concat(values.Select(v => "  " + v.PadLeft(width)))).TrimEnd();
        lines.Add(Line("", columns));
        lines.Add(new string('-', first + columns.Count * (width + 2)));
        foreach (string row in rows)
            lines.Add(Line(row, columns.Select(c => Shown(Get(row, c)))));
        foreach ((string row, string reference) in ratios)
            lines.Add(Line($"{row} / {reference}", columns.Select(c => Ratio(row, reference, c))));
        foreach (string row in rows)
        {
            BenchCell[] missed = [.. columns.Select(c => Get(row, c)).Where(c => c.Status != "PASS")];
            if (missed.Length == 0)
                continue;
            if (missed.Length == columns.Count && missed.All(c => c.Status == missed[0].Status && c.Message == missed[0].Message))
            {
                lines.Add($"  {row}: {missed[0].Status}: {missed[0].Message}");
                continue;
            }
            foreach (string column in columns)
            {
                BenchCell c = Get(row, column);
                if (c.Status != "PASS")
                    lines.Add($"  {row} {column}: {c.Status}: {c.Message}");
            }
        }
        return lines;
    }

    /// <summary>The table as one text.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (string line in Lines())
            text.Append(line).Append('\n');
        return text.ToString();
    }
}
