using Dataplane.Wire;

namespace Dataplane.Ports;

/// <summary>What a port's driver (or the kernel behind it) does in place of software.</summary>
[Flags]
internal enum PortCapabilities
{
    /// <summary>Nothing: the stack checks, hashes and segments everything itself.</summary>
    None = 0,

    /// <summary>Received IPv4 header and TCP/UDP checksums arrive verified or partial.</summary>
    ReceiveChecksum = 1 << 0,

    /// <summary>Transmitted TCP/UDP checksums may be left partial for the port to finish.</summary>
    TransmitChecksum = 1 << 1,

    /// <summary>TCP segmentation offload: a super-frame goes out whole and is cut below us.</summary>
    Tso = 1 << 2,

    /// <summary>Large receive offload: received segments of a flow may arrive merged.</summary>
    Lro = 1 << 3,

    /// <summary>The port supplies an RSS hash with each received frame.</summary>
    RssHash = 1 << 4,

    /// <summary>More than one queue pair.</summary>
    MultiQueue = 1 << 5,
}

/// <summary>Counters of one queue of a port, written only by the worker that owns the queue.</summary>
internal sealed class QueueCounters
{
    /// <summary>Frames received.</summary>
    public long ReceivedPackets;

    /// <summary>Bytes received.</summary>
    public long ReceivedBytes;

    /// <summary>Frames transmitted.</summary>
    public long TransmittedPackets;

    /// <summary>Bytes transmitted.</summary>
    public long TransmittedBytes;

    /// <summary>Frames dropped on receive: no buffer, or the frame was refused by the driver.</summary>
    public long ReceiveDrops;

    /// <summary>Frames dropped on transmit: the queue stayed full.</summary>
    public long TransmitDrops;

    /// <summary>Errors the driver reported (a failed read or write).</summary>
    public long Errors;

    /// <summary>
    /// Frames received with the device's RSS hash, which was the engine's and placed the flow
    /// (<see cref="Buffers.OffloadFlags.RssHashValid"/>): the engine did not hash them.
    /// </summary>
    public long ReceivedHashed;
}

/// <summary>
/// The control side of a port, kept apart from the data path as DPDK keeps eth_dev_ops apart from
/// its burst functions: opened, started and inspected by the control thread, never per packet.
/// </summary>
internal interface IPort : IDisposable
{
    /// <summary>The port's name in the config.</summary>
    string Name { get; }

    /// <summary>Driver name, as in the config (memory, tap, afpacket, afxdp, vfio).</summary>
    string Driver { get; }

    /// <summary>How the driver runs, for a driver with modes (afxdp: "native, copy"; vfio: the device's driver, "virtio-net"); null for one without.</summary>
    string? Mode => null;

    /// <summary>Queue pairs; worker i owns queue i, and receives on queues i + N, i + 2N, ... of a port with more than its N workers.</summary>
    int QueueCount { get; }

    /// <summary>The port's MAC address.</summary>
    MacAddress Mac { get; }

    /// <summary>Largest IP packet the port carries.</summary>
    int Mtu { get; }

    /// <summary>Whether the link is up.</summary>
    bool LinkUp { get; }

    /// <summary>What the port does in place of software.</summary>
    PortCapabilities Capabilities { get; }

    /// <summary>Counters of queue <paramref name="queue"/>.</summary>
    QueueCounters Counters(int queue);

    /// <summary>Starts receiving and transmitting.</summary>
    void Start();

    /// <summary>Stops the port; queued frames are dropped.</summary>
    void Stop();

    /// <summary>Receive every frame on the link, not only those addressed to us.</summary>
    void SetPromiscuous(bool on);
}
