using Dataplane.Buffers;

namespace Dataplane.Engine;

/// <summary>
/// A worker's rings to the others, as the stack sees them: for the few packets whose owner is known
/// only after the engine steered them (reassembled datagrams), not for every packet; the engine's
/// own steering calls its rings directly.
/// </summary>
internal interface IFlowHandOff
{
    /// <summary>Hands <paramref name="packet"/> to worker <paramref name="owner"/>; the packet is not the caller's any more.</summary>
    void HandOff(int owner, PacketBuffer packet);
}
