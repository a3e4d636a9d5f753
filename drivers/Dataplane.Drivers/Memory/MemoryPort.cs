using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Ports;
using Dataplane.Wire;

namespace Dataplane.Drivers.Memory;

/// <summary>
/// The in-process driver, for tests and benchmarks: a pair of ports joined back to back, or one
/// port looped to itself. A frame transmitted on queue i of one end is received on queue i of the
/// other, through a single-producer/single-consumer ring per queue; buffers move, bytes are not copied.
/// </summary>
internal sealed class MemoryPort : IPort
{
    private readonly SpscRing<PacketBuffer>[] _receive;
    private readonly QueueCounters[] _counters;
    private MemoryPort _peer;
    private bool _started;

    private MemoryPort(string name, int queues, int ringSize, MacAddress mac)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(queues, 1);
        Name = name;
        Mac = mac;
        _receive = new SpscRing<PacketBuffer>[queues];
        _counters = new QueueCounters[queues];
        for (int i = 0; i < queues; i++)
        {
            _receive[i] = new SpscRing<PacketBuffer>(ringSize);
            _counters[i] = new QueueCounters();
        }
        _peer = this;
    }

    /// <summary>Two ports joined back to back, <paramref name="queues"/> queue pairs each.</summary>
    public static (MemoryPort A, MemoryPort B) CreatePair(string a, string b, int queues, int ringSize = 1024)
    {
        var left = new MemoryPort(a, queues, ringSize, MacAddress.FromUInt64(0x02_00_00_00_00_01));
        var right = new MemoryPort(b, queues, ringSize, MacAddress.FromUInt64(0x02_00_00_00_00_02));
        left._peer = right;
        right._peer = left;
        return (left, right);
    }

    /// <summary>One port whose transmitted frames come back on its own receive queues.</summary>
    public static MemoryPort CreateLoopback(string name, int queues, int ringSize = 1024)
        => new(name, queues, ringSize, MacAddress.FromUInt64(0x02_00_00_00_00_01));

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public string Driver => "memory";

    /// <inheritdoc/>
    public int QueueCount => _receive.Length;

    /// <inheritdoc/>
    public MacAddress Mac { get; }

    /// <inheritdoc/>
    public int Mtu => 9000;

    /// <inheritdoc/>
    public bool LinkUp => _started && _peer._started;

    /// <summary>Nothing is ever corrupted in memory, so checksums count as verified.</summary>
    public PortCapabilities Capabilities => PortCapabilities.MultiQueue | PortCapabilities.ReceiveChecksum;

    /// <inheritdoc/>
    public QueueCounters Counters(int queue) => _counters[queue];

    /// <summary>The data path of queue <paramref name="queue"/>.</summary>
    public MemoryQueue Queue(int queue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)queue, (uint)QueueCount, nameof(queue));
        return new MemoryQueue(_receive[queue], _peer._receive[queue], _counters[queue]);
    }

    /// <inheritdoc/>
    public void Start() => _started = true;

    /// <inheritdoc/>
    public void Stop() => _started = false;

    /// <inheritdoc/>
    public void SetPromiscuous(bool on)
    {
    }

    /// <inheritdoc/>
    public void Dispose() => Stop();
}

/// <summary>
/// One queue pair of a <see cref="MemoryPort"/>: receive from our ring, transmit into the peer's.
/// It promises nothing about received frames: a buffer arrives with the metadata its sender left
/// (checksum flags, a Gso type, a hash: whatever a test or a sending worker put there), so every
/// fact is PerFrame, the declaration's default, and every flag is read per frame.
/// </summary>
[PacketPath("memory")]
internal readonly struct MemoryQueue(SpscRing<PacketBuffer> receive, SpscRing<PacketBuffer> transmit, QueueCounters counters) : IQueuePair
{
    /// <inheritdoc/>
    public int Receive(Span<PacketBuffer> burst)
    {
        int n = receive.TryDequeue(burst);
        counters.ReceivedPackets += n;
        return n;
    }

    /// <inheritdoc/>
    public int Transmit(ReadOnlySpan<PacketBuffer> burst)
    {
        int n = transmit.TryEnqueue(burst);
        counters.TransmittedPackets += n;
        return n;
    }

    /// <summary>None: rings in memory have no descriptor to wait on.</summary>
    public Native.FileDescriptor? ReadinessDescriptor => null;
}
