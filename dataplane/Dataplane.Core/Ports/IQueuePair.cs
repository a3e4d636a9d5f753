using Dataplane.Buffers;
using Dataplane.Native;

namespace Dataplane.Ports;

/// <summary>
/// The data path of one queue pair of a port: burst receive and transmit. Each driver implements
/// it with a struct, and the engine's loop is specialized per driver type through a struct-generic
/// parameter, so no call here is virtual. Queue i of every port belongs to worker i alone.
/// </summary>
internal interface IQueuePair
{
    /// <summary>
    /// Fills <paramref name="burst"/> with received frames, in buffers from the worker's cache;
    /// returns how many. The caller owns them.
    /// </summary>
    int Receive(Span<PacketBuffer> burst);

    /// <summary>
    /// Queues the frames of <paramref name="burst"/> for sending and takes ownership of those it
    /// accepted; returns how many, from the front. The rest stay the caller's.
    /// </summary>
    int Transmit(ReadOnlySpan<PacketBuffer> burst);

    /// <summary>
    /// A descriptor that polls readable when frames wait, for the worker's idle sleep; null when
    /// the driver has none (the memory driver), and the sleeping worker then looks again within 1 ms.
    /// </summary>
    FileDescriptor? ReadinessDescriptor { get; }
}
