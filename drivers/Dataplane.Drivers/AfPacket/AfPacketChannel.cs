using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.AfPacket;

/// <summary>
/// One queue of an <see cref="AfPacketPort"/>: an AF_PACKET socket bound to the interface, with its
/// receive and transmit rings in one shared mapping; a second socket, without rings, for frames
/// longer than a transmit slot; and the queue's counters. The port owns it; the worker of the queue
/// drives it through an <see cref="AfPacketQueue"/>.
/// </summary>
internal sealed class AfPacketChannel : IDisposable
{
    private AfPacketChannel(PacketSocket socket, PacketSocket chainSocket, PinnedMemory mapping, AfPacketGeometry geometry, ushort port, ushort queue)
    {
        Socket = socket;
        ChainSocket = chainSocket;
        Mapping = mapping;
        Receiver = new AfPacketReceiveRing(mapping, geometry, socket, Counters, port, queue);
        Transmitter = new AfPacketTransmitRing(mapping, geometry, socket, chainSocket, Counters);
    }

    /// <summary>The socket; its descriptor is readable when a receive block is ours.</summary>
    public PacketSocket Socket { get; }

    /// <summary>
    /// The socket for frames longer than a slot, sent by sendmsg: one of its own, because on a socket
    /// with a transmit ring sendmsg only kicks the ring and ignores the message (af_packet.c,
    /// packet_sendmsg: tpacket_snd whenever tx_ring is set). Bound with protocol 0, so it receives nothing.
    /// </summary>
    public PacketSocket ChainSocket { get; }

    /// <summary>The rings, receive first.</summary>
    public PinnedMemory Mapping { get; }

    /// <summary>The receive ring.</summary>
    public AfPacketReceiveRing Receiver { get; }

    /// <summary>The transmit ring.</summary>
    public AfPacketTransmitRing Transmitter { get; }

    /// <summary>The queue's counters, written by its worker.</summary>
    public QueueCounters Counters { get; } = new();

    /// <summary>Set by the port between Start and Stop; bursts do nothing outside.</summary>
    public volatile bool Started;

    /// <summary>
    /// Opens the socket and sets it up in the order the kernel wants (packet_mmap.rst): TPACKET_V3,
    /// the virtio-net header and qdisc bypass before the rings, the rings, the mapping, then bind.
    /// The caller joins the fanout group once every queue's socket is bound.
    /// </summary>
    public static AfPacketChannel Open(int interfaceIndex, AfPacketGeometry geometry, ushort port, ushort queue)
    {
        PacketSocket socket = PacketSocket.Open(PacketSocket.EthPAll);
        PinnedMemory? mapping = null;
        PacketSocket? chainSocket = null;
        try
        {
            socket.SetVersion(TpacketVersion.V3);
            // Each frame comes with a virtio-net header: partial checksums and super-frames a veth
            // peer's stack leaves to "hardware" arrive as such instead of as garbage checksums.
            socket.EnableVnetHeader();
            // Frames go straight to the driver's queue, as from a NIC's own ring; they skip the qdisc
            // and the taps, so the host's tcpdump on this interface does not see what we send.
            socket.EnableQdiscBypass();
            socket.SetRxRing(geometry.Rx);
            socket.SetTxRing(geometry.Tx);
            mapping = socket.MapRings(geometry.MappingLength);
            socket.Bind(interfaceIndex);
            // The same header and bypass on the chain socket: its frames take the ring's way to the
            // driver's queue, so they leave in the order they are sent.
            chainSocket = PacketSocket.Open(protocol: 0);
            chainSocket.EnableVnetHeader();
            chainSocket.EnableQdiscBypass();
            chainSocket.Bind(interfaceIndex);
            return new AfPacketChannel(socket, chainSocket, mapping, geometry, port, queue);
        }
        catch
        {
            chainSocket?.Dispose();
            mapping?.Dispose();
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Unmaps the rings and closes the socket; the kernel frees the rings with the last of both.</summary>
    public void Dispose()
    {
        Started = false;
        Mapping.Dispose();
        Socket.Dispose();
        ChainSocket.Dispose();
    }
}
