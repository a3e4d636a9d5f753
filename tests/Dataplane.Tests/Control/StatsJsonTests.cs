using System.Text.Json;
using Dataplane.Buffers;
using Dataplane.Control;
using Dataplane.Drivers.Memory;
using Dataplane.Engine;
using Dataplane.Stack;

namespace Dataplane.Tests.Control;

/// <summary><c>stats --json</c> over a view built by hand, so that counters can be bumped: the "errors" object.</summary>
public sealed class StatsJsonTests
{
    [Fact]
    public void Errors_follow_the_protocols_and_sum_every_error_counter_flat_under_heading_dot_key()
    {
        (MemoryPort m0, MemoryPort peer) = MemoryPort.CreatePair("m0", "peer", queues: 2);
        using (m0)
        using (peer)
        {
            var pool = new BufferPool(16);
            WorkerView[] workers = [new(0, 0, new WorkerCounters(), new BufferCache(pool)), new(1, 1, new WorkerCounters(), new BufferCache(pool))];
            StackCounters[] counters = [new(), new()];
            var view = new DataplaneView([m0], workers, new NetworkStack([], forwarding: false), counters);
            counters[0].Count(IpCounter.BadChecksum);
            counters[1].Add(IpCounter.Forwarded, 5);
            counters[1].Count(IpCounter.BadChecksum);
            m0.Counters(0).TransmitDrops += 2;
            m0.Counters(1).TransmitDrops += 3;
            workers[1].Counters.HandOffDrops = 7;

            using JsonDocument doc = JsonDocument.Parse(StatsJson.Write(view));

            string[] top = [.. doc.RootElement.EnumerateObject().Select(p => p.Name)];
            Assert.Equal(["ports", "workers", "protocols", "errors"], top);
            JsonElement errors = doc.RootElement.GetProperty("errors");
            Assert.Equal(2, errors.GetProperty("ip.bad_checksum").GetInt64());
            Assert.Equal(0, errors.GetProperty("udp.socket_full").GetInt64());
            Assert.False(errors.TryGetProperty("ip.forwarded", out _));
            Assert.False(errors.TryGetProperty("udp.no_port", out _));
            Assert.Equal(5, doc.RootElement.GetProperty("protocols").GetProperty("ip").GetProperty("forwarded").GetInt64());
            Assert.Equal(5, errors.GetProperty("port.m0.tx_drops").GetInt64());
            Assert.Equal(0, errors.GetProperty("port.m0.rx_drops").GetInt64());
            Assert.Equal(0, errors.GetProperty("port.m0.errors").GetInt64());
            Assert.Equal(7, errors.GetProperty("worker.1.hand_off_drops").GetInt64());
            Assert.Equal(0, errors.GetProperty("worker.0.transmit_drops").GetInt64());
            Assert.Equal(0, errors.GetProperty("worker.1.buffer_exhaustion").GetInt64());

            int protocolErrors = CounterNames.Groups.Sum(g => CounterNames.Keys(g).Where((_, c) => CounterNames.IsError(g, c)).Count());
            string[] names = [.. errors.EnumerateObject().Select(p => p.Name)];
            Assert.Equal(protocolErrors + 3 + 2 * 3, names.Length);
            Assert.Equal(
                ["port.m0.rx_drops", "port.m0.tx_drops", "port.m0.errors",
                 "worker.0.hand_off_drops", "worker.0.transmit_drops", "worker.0.buffer_exhaustion",
                 "worker.1.hand_off_drops", "worker.1.transmit_drops", "worker.1.buffer_exhaustion"],
                names[protocolErrors..]);
            Assert.StartsWith("ether.", names[0], StringComparison.Ordinal);
        }
    }
}
