using System.Collections.Immutable;
using System.Text;
using System.Text.Json;
using Dataplane.Engine;
using Dataplane.Ports;
using Dataplane.Stack;

namespace Dataplane.Control;

/// <summary>
/// <c>ctl stats --json</c>: every counter as one JSON object with stable snake_case names, written
/// by hand with <see cref="Utf8JsonWriter"/> (no reflection, so NativeAOT keeps it whole):
/// <c>{"ports":[{"name","driver","mode" (when the driver has one),"mac","mtu","link_up","queue_count","capabilities":[],
/// "queues":[{"queue","rx_packets",...}]}],"workers":[{"index","cpu",...}],
/// "protocols":{"ip":{"received",...},...},"errors":{"ip.bad_checksum",...,"port.m0.rx_drops",...,
/// "worker.0.hand_off_drops",...}}</c>. "errors" repeats, flat and summed, every counter that counts
/// an error: each protocol counter <see cref="CounterNames.IsError"/> marks, as "heading.key"; each
/// port's rx_drops, tx_drops and errors summed over its queues, and its link_downs when a watch runs; each worker's hand_off_drops,
/// transmit_drops and buffer_exhaustion. It holds the zeros too, in a stable order, so that a test
/// runner can diff two snapshots and see whether an error moved without knowing the counters.
/// </summary>
internal static class StatsJson
{
    /// <summary>The JSON text for <paramref name="view"/>.</summary>
    public static string Write(DataplaneView view)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("ports");
            for (int p = 0; p < view.Ports.Count; p++)
                WritePort(json, view.Ports[p], view.Watch?.Health(p));
            json.WriteEndArray();
            json.WriteStartArray("workers");
            foreach (WorkerView worker in view.Workers)
                WriteWorker(json, worker);
            json.WriteEndArray();
            json.WriteStartObject("protocols");
            foreach (CounterGroup group in CounterNames.Groups)
            {
                json.WriteStartObject(CounterNames.Heading(group));
                ImmutableArray<string> keys = CounterNames.Keys(group);
                for (int c = 0; c < keys.Length; c++)
                    json.WriteNumber(keys[c], view.Sum(group, c));
                json.WriteEndObject();
            }
            json.WriteEndObject();
            WriteErrors(json, view);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void WriteErrors(Utf8JsonWriter json, DataplaneView view)
    {
        json.WriteStartObject("errors");
        foreach (CounterGroup group in CounterNames.Groups)
        {
            string heading = CounterNames.Heading(group);
            ImmutableArray<string> keys = CounterNames.Keys(group);
            for (int c = 0; c < keys.Length; c++)
            {
                if (CounterNames.IsError(group, c))
                    json.WriteNumber($"{heading}.{keys[c]}", view.Sum(group, c));
            }
        }
        for (int p = 0; p < view.Ports.Count; p++)
        {
            IPort port = view.Ports[p];
            long rxDrops = 0, txDrops = 0, errors = 0;
            for (int q = 0; q < port.QueueCount; q++)
            {
                QueueCounters c = port.Counters(q);
                rxDrops += c.ReceiveDrops;
                txDrops += c.TransmitDrops;
                errors += c.Errors;
            }
            json.WriteNumber($"port.{port.Name}.rx_drops", rxDrops);
            json.WriteNumber($"port.{port.Name}.tx_drops", txDrops);
            json.WriteNumber($"port.{port.Name}.errors", errors);
            if (view.Watch is { } watch)
                json.WriteNumber($"port.{port.Name}.link_downs", watch.Health(p).LinkDowns);
        }
        foreach (WorkerView worker in view.Workers)
        {
            json.WriteNumber($"worker.{worker.Index}.hand_off_drops", worker.Counters.HandOffDrops);
            json.WriteNumber($"worker.{worker.Index}.transmit_drops", worker.Counters.TransmitDrops);
            json.WriteNumber($"worker.{worker.Index}.buffer_exhaustion", worker.Cache.Exhausted);
        }
        json.WriteEndObject();
    }

    private static void WritePort(Utf8JsonWriter json, IPort port, PortHealth? health)
    {
        json.WriteStartObject();
        json.WriteString("name", port.Name);
        json.WriteString("driver", port.Driver);
        if (port.Mode is string mode)
            json.WriteString("mode", mode); // how the driver runs: afxdp's attach and copy modes, vfio's device, host ports' flow placement
        json.WriteString("mac", port.Mac.ToString());
        json.WriteNumber("mtu", port.Mtu);
        json.WriteBoolean("link_up", port.LinkUp);
        if (health is not null)
        {
            // What the control thread's watch saw: link transitions, device faults by name, a failure.
            json.WriteNumber("link_downs", health.LinkDowns);
            json.WriteNumber("link_ups", health.LinkUps);
            json.WriteStartObject("device_errors");
            foreach ((string name, long count) in health.Faults())
                json.WriteNumber(name, count);
            json.WriteEndObject();
            if (health.Failure is string failure)
                json.WriteString("failure", failure);
        }
        json.WriteNumber("queue_count", port.QueueCount);
        json.WriteStartArray("capabilities");
        foreach (string name in DataplaneView.CapabilityNames(port.Capabilities))
            json.WriteStringValue(name);
        json.WriteEndArray();
        json.WriteStartArray("queues");
        for (int q = 0; q < port.QueueCount; q++)
        {
            QueueCounters c = port.Counters(q);
            json.WriteStartObject();
            json.WriteNumber("queue", q);
            json.WriteNumber("rx_packets", c.ReceivedPackets);
            json.WriteNumber("rx_bytes", c.ReceivedBytes);
            json.WriteNumber("tx_packets", c.TransmittedPackets);
            json.WriteNumber("tx_bytes", c.TransmittedBytes);
            json.WriteNumber("rx_drops", c.ReceiveDrops);
            json.WriteNumber("tx_drops", c.TransmitDrops);
            json.WriteNumber("errors", c.Errors);
            json.WriteNumber("rx_device_hashed", c.ReceivedHashed);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteWorker(Utf8JsonWriter json, WorkerView worker)
    {
        WorkerCounters c = worker.Counters;
        json.WriteStartObject();
        json.WriteNumber("index", worker.Index);
        json.WriteNumber("cpu", worker.Cpu);
        json.WriteNumber("received", c.Received);
        json.WriteNumber("processed", c.Processed);
        json.WriteNumber("handed_off", c.HandedOff);
        json.WriteNumber("handed_in", c.HandedIn);
        json.WriteNumber("hand_off_drops", c.HandOffDrops);
        json.WriteNumber("transmitted", c.Transmitted);
        json.WriteNumber("transmit_drops", c.TransmitDrops);
        json.WriteNumber("dropped", c.Dropped);
        json.WriteNumber("buffer_exhaustion", worker.Cache.Exhausted);
        json.WriteNumber("loops", c.Loops);
        json.WriteNumber("sleeps", c.Sleeps);
        json.WriteNumber("capture_drops", c.CaptureDrops);
        json.WriteEndObject();
    }
}
