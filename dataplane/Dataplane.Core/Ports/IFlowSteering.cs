using Dataplane.Engine;

namespace Dataplane.Ports;

/// <summary>
/// A port whose device spreads received flows over its queues by RSS, and can be told the engine's
/// placement: the Toeplitz key the engine hashes flows with and the table of their owners
/// (<see cref="RssIndirectionTable"/>). Its device then puts each flow on the queue its owner drains,
/// so no frame needs handing over between workers, and where it reports the hash it computed and
/// that hash is the engine's, the frame carries it (<see cref="Buffers.OffloadFlags.RssHashValid"/>)
/// and software does not hash it again.
/// </summary>
internal interface IFlowSteering
{
    /// <summary>
    /// Programs the device with <paramref name="key"/> and a table sending each flow to its owner in
    /// <paramref name="owners"/> (worker i drains queue i). Control path: called by the engine when it
    /// is built, before the port starts; the port keeps it across a stop and start.
    /// </summary>
    void SteerFlows(ReadOnlySpan<byte> key, RssIndirectionTable owners);
}
