using Dataplane.Buffers;
using Dataplane.Ports;

namespace Dataplane.Engine;

/// <summary>
/// Software LRO as the engine sees it: merges the TCP segments of a received burst per flow before
/// the burst is dispatched, for the queues whose port has software LRO on
/// (<see cref="QueuePoller.SoftLro"/>). The stack supplies it (<see cref="WorkerContext.ReceiveMerger"/>),
/// as it supplies its turn work: the rules are TCP's, the engine only calls them. One interface call
/// per burst, none per packet.
/// </summary>
internal interface IReceiveMerger
{
    /// <summary>
    /// Merges in place: <paramref name="burst"/> is compacted to the frames that go on, in their
    /// order (a super-frame where its first segment was); returns how many. <paramref name="checksum"/>
    /// is how the burst's driver reports checksum state (its receive facts).
    /// </summary>
    int Merge(Span<PacketBuffer> burst, OffloadReport checksum);
}
