using System.Diagnostics;
using Dataplane.Conformance.Model;

namespace Dataplane.Conformance.Running;

/// <summary>
/// What the terminal shows while a run goes: a line per finished test (status, system under test,
/// name, value), and in a terminal a live line under them with the running test and its time.
/// Without a terminal (CI, a pipe) only the finished lines, plainly.
/// </summary>
internal sealed class Progress : IDisposable
{
    private readonly TextWriter _out;
    private readonly bool _live;
    private readonly bool _color;
    private readonly Lock _lock = new();
    private readonly Timer? _timer;
    private readonly Stopwatch _testClock = new();
    private string _current = "";
    private int _done;
    private int _total;

    public Progress(TextWriter output, bool live, bool color)
    {
        _out = output;
        _live = live;
        _color = color;
        if (live)
            _timer = new Timer(_ => Redraw(), null, 1000, 1000);
    }

    public void Say(string line)
    {
        lock (_lock)
        {
            ClearLive();
            _out.WriteLine(line);
            DrawLive();
        }
    }

    public void Expect(int tests)
    {
        lock (_lock)
            _total += tests;
    }

    public void Begin(string sut, string test)
    {
        lock (_lock)
        {
            _current = $"{sut} {test}";
            _testClock.Restart();
            DrawLive();
        }
    }

    public void End(string sut, Result result, string extra)
    {
        lock (_lock)
        {
            _done++;
            _current = "";
            ClearLive();
            string value = result.BitsPerSecond is double v ? Units.Bits(v) : "-";
            string message = result.Message.Length > 0 ? "  " + result.Message : "";
            _out.WriteLine($"  {Paint(result.Status),-6} {sut,-9} {result.Test,-52} {value,12}{extra}{message}");
            DrawLive();
        }
    }

    private string Paint(Status status)
    {
        string name = status.Name();
        if (!_color)
            return name;
        string code = status switch { Status.Pass => "32", Status.Xpass => "33", Status.Norun => "90", _ => "31" };
        return $"\e[{code}m{name}\e[0m" + new string(' ', Math.Max(0, 6 - name.Length));
    }

    private void Redraw()
    {
        lock (_lock)
            DrawLive();
    }

    private void DrawLive()
    {
        if (!_live || _current.Length == 0)
            return;
        _out.Write($"\r\e[K  [{_done + 1}/{_total}] {_current}  {_testClock.Elapsed.TotalSeconds:0}s");
        _out.Flush();
    }

    private void ClearLive()
    {
        if (_live)
            _out.Write("\r\e[K");
    }

    public void Dispose()
    {
        _timer?.Dispose();
        lock (_lock)
        {
            ClearLive();
            _current = "";
        }
    }
}

/// <summary>Bits per second in the unit a reader expects.</summary>
internal static class Units
{
    public static string Bits(double bps) => bps switch
    {
        >= 1e9 => $"{bps / 1e9:0.00} Gbit/s",
        >= 1e6 => $"{bps / 1e6:0.0} Mbit/s",
        >= 1e3 => $"{bps / 1e3:0.0} kbit/s",
        _ => $"{bps:0} bit/s",
    };
}
