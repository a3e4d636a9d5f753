using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Dataplane.Tests.Simulation;

/// <summary>What happened, in a line of the trace.</summary>
internal enum TraceKind : byte
{
    /// <summary>A node put a frame on a link.</summary>
    Sent,

    /// <summary>The link's queue was full: the frame was dropped at its tail.</summary>
    QueueDrop,

    /// <summary>The link lost the frame.</summary>
    Lost,

    /// <summary>The link flipped bits of the frame (the value is the offset of the byte).</summary>
    Corrupted,

    /// <summary>The link will deliver the frame twice.</summary>
    Duplicated,

    /// <summary>The link held the frame back: later frames may pass it.</summary>
    Reordered,

    /// <summary>A frame reached a node.</summary>
    Arrived,

    /// <summary>A frame reached a node that had no buffer for it: dropped as a NIC drops it.</summary>
    NoBuffer,

    /// <summary>A node sent a frame on a port with no link.</summary>
    Unconnected,

    /// <summary>A node's timers fired (the value is how many).</summary>
    Timers,

    /// <summary>A scheduled action of the test ran on a node.</summary>
    Action,

    /// <summary>A mark of the test's own (an app's send or receipt; the value is the test's).</summary>
    Note,
}

/// <summary>
/// The record of a run: a running hash over every event (time, kind, node, port, value and the hash
/// of the frame's bytes), which two runs of one seed must agree on to the last bit, and the last
/// lines in words, for the message of a failure. The timers' turns go into the hash but not into
/// the lines (in a run that drains, they would be all the lines there are); with
/// <see cref="KeepEverything"/>, every line is kept, timers too, for <see cref="WriteTo"/>.
/// </summary>
internal sealed class SimTrace(int lines = 48)
{
    /// <summary>The environment variable that names a file to write the whole trace of a replayed seed to.</summary>
    public const string Variable = "SIM_TRACE";

    private readonly Line[] _last = new Line[lines];
    private readonly List<Line>? _all = KeepEverything ? [] : null;
    private readonly List<string> _names = [];
    private long _lines;

    /// <summary>True when <see cref="Variable"/> is set: every line is kept.</summary>
    public static bool KeepEverything => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable));

    /// <summary>The hash of every event so far.</summary>
    public ulong Hash { get; private set; } = 0xCBF29CE484222325;

    /// <summary>Events recorded.</summary>
    public long Count { get; private set; }

    /// <summary>Names node <paramref name="node"/> in the lines.</summary>
    public void Name(int node, string name)
    {
        while (_names.Count <= node)
            _names.Add("");
        _names[node] = name;
    }

    /// <summary>Records one event.</summary>
    public void Add(long time, TraceKind kind, int node, int port, long value, ulong frame = 0)
    {
        ulong h = Hash;
        h = Mix(h, (ulong)time);
        h = Mix(h, (ulong)kind << 48 | (ulong)(ushort)node << 32 | (uint)port);
        h = Mix(h, (ulong)value);
        h = Mix(h, frame);
        Hash = h;
        Count++;
        var line = new Line(time, kind, node, port, value, frame);
        _all?.Add(line);
        if (kind == TraceKind.Timers)
            return;
        _last[_lines % _last.Length] = line;
        _lines++;
    }

    /// <summary>Folds <paramref name="values"/> (a node's counters at the end) into the hash.</summary>
    public void AddState(ReadOnlySpan<long> values)
    {
        ulong h = Hash;
        foreach (long v in values)
            h = Mix(h, (ulong)v);
        Hash = h;
    }

    /// <summary>The last lines but the timers', oldest first, with times in seconds from <paramref name="origin"/>.</summary>
    public string Tail(long origin)
    {
        var text = new StringBuilder();
        for (long i = Math.Max(0, _lines - _last.Length); i < _lines; i++)
            Append(text, _last[i % _last.Length], origin);
        return text.ToString();
    }

    /// <summary>Writes every line to <paramref name="path"/> (with <see cref="KeepEverything"/>; else only the last ones).</summary>
    public void WriteTo(string path, long origin)
    {
        if (_all is null)
        {
            File.WriteAllText(path, Tail(origin));
            return;
        }
        var text = new StringBuilder();
        foreach (Line line in _all)
            Append(text, line, origin);
        File.WriteAllText(path, text.ToString());
    }

    private void Append(StringBuilder text, in Line line, long origin)
    {
        string node = line.Node < _names.Count ? _names[line.Node] : line.Node.ToString(CultureInfo.InvariantCulture);
        text.Append(CultureInfo.InvariantCulture, $"  {(line.Time - origin) / 1e9,12:F6}s {node}.{line.Port} {line.Kind} {line.Value}");
        if (line.Frame != 0)
            text.Append(CultureInfo.InvariantCulture, $" #{line.Frame:x16}");
        text.AppendLine();
    }

    /// <summary>A 64-bit hash of <paramref name="bytes"/> (eight bytes a step, Murmur3's finalizer at the end); not randomized per process as HashCode is.</summary>
    public static ulong HashOf(ReadOnlySpan<byte> bytes)
    {
        ulong h = 0x9E3779B97F4A7C15 ^ (ulong)bytes.Length;
        int i = 0;
        for (; i + 8 <= bytes.Length; i += 8)
            h = Mix(h, BinaryPrimitives.ReadUInt64LittleEndian(bytes[i..]));
        ulong tail = 0;
        for (int shift = 0; i < bytes.Length; i++, shift += 8)
            tail |= (ulong)bytes[i] << shift;
        h = Mix(h, tail);
        h ^= h >> 33;
        h *= 0xFF51AFD7ED558CCD;
        h ^= h >> 33;
        h *= 0xC4CEB9FE1A85EC53;
        h ^= h >> 33;
        return h == 0 ? 1 : h;
    }

    private static ulong Mix(ulong h, ulong v)
    {
        h ^= v;
        h *= 0x9FB21C651E98DF25;
        return h ^ (h >> 29);
    }

    private readonly record struct Line(long Time, TraceKind Kind, int Node, int Port, long Value, ulong Frame);
}
