using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using Dataplane.Engine;
using Dataplane.Stack;

namespace Dataplane.Control;

/// <summary>
/// <c>ctl netstat -s</c>: the counters of each layer in the layout of BSD's netstat -s, a heading
/// per worker and per protocol, then one counter a line, the number first. Zero counters are printed
/// too: the list is short, and a script can count on every line being there.
/// </summary>
internal static class NetstatReport
{
    /// <summary>The report for <paramref name="view"/>.</summary>
    public static string Write(DataplaneView view)
    {
        var text = new StringBuilder();
        foreach (WorkerView worker in view.Workers)
        {
            WorkerCounters c = worker.Counters;
            Line(text, $"worker {worker.Index} (cpu {worker.Cpu}):");
            Line(text, $"\t{c.Received} packets received from its queues");
            Line(text, $"\t{c.Processed} packets processed");
            Line(text, $"\t{c.HandedOff} packets handed off to the worker of their flow");
            Line(text, $"\t{c.HandedIn} packets handed in by other workers");
            Line(text, $"\t{c.HandOffDrops} hand-off drops (the other worker's ring was full)");
            Line(text, $"\t{c.Transmitted} packets transmitted");
            Line(text, $"\t{c.TransmitDrops} transmit drops (the transmit queue stayed full)");
            Line(text, $"\t{c.Dropped} packets dropped by the processor");
            Line(text, $"\t{worker.Cache.Exhausted} buffer allocations failed (pool exhausted)");
            Line(text, $"\t{c.Loops} turns of the loop");
            Line(text, $"\t{c.Sleeps} sleeps on queue readiness");
            Line(text, $"\t{c.CaptureDrops} capture copies dropped (the capture writer's ring was full)");
        }
        foreach (CounterGroup group in CounterNames.Groups)
        {
            Line(text, $"{CounterNames.Heading(group)}:");
            ImmutableArray<string> texts = CounterNames.Texts(group);
            for (int c = 0; c < texts.Length; c++)
                Line(text, $"\t{view.Sum(group, c)} {texts[c]}");
        }
        return text.ToString();
    }

    private static void Line(StringBuilder text, FormattableString line)
        => text.Append(line.ToString(CultureInfo.InvariantCulture)).Append('\n');
}
