using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.AfPacket;

/// <summary>
/// One queue of an <see cref="AfPacketPort"/>: three AF_PACKET sockets bound to the interface, one
/// per job. The receive socket has the TPACKET_V2 receive ring and is the queue's member of the
/// fanout group; the transmit socket has the TPACKET_V3 transmit ring; the chain socket, without
/// rings, sends frames longer than a transmit slot. The port owns it; the worker of the queue
/// drives it through an <see cref="AfPacketQueue"/>.
/// </summary>
internal sealed class AfPacketChannel : IDisposable
{
    private AfPacketChannel(PacketSocket socket, PinnedMemory receiveMapping, PacketSocket transmitSocket, PinnedMemory transmitMapping,
        PacketSocket chainSocket, AfPacketGeometry geometry, ushort port, ushort queue)
    {
        Socket = socket;
        ReceiveMapping = receiveMapping;
        TransmitSocket = transmitSocket;
        TransmitMapping = transmitMapping;
        ChainSocket = chainSocket;
        Receiver = new AfPacketReceiveRing(receiveMapping, geometry, socket, Counters, port, queue);
        Transmitter = new AfPacketTransmitRing(transmitMapping, geometry, transmitSocket, chainSocket, Counters);
    }

    /// <summary>The receive socket; its descriptor is readable when a receive slot is ours.</summary>
    public PacketSocket Socket { get; }

    /// <summary>The receive ring.</summary>
    public PinnedMemory ReceiveMapping { get; }

    /// <summary>
    /// The socket of the transmit ring: a socket's rings share one TPACKET version, and the receive
    /// ring's V2 would change the slot layout. Bound with protocol 0, so it receives nothing.
    /// </summary>
    public PacketSocket TransmitSocket { get; }

    /// <summary>The transmit ring.</summary>
    public PinnedMemory TransmitMapping { get; }

    /// <summary>
    /// The socket for frames longer than a slot, sent by sendmsg: one of its own, because on a socket
    /// with a transmit ring sendmsg only kicks the ring and ignores the message (af_packet.c,
    /// packet_sendmsg: tpacket_snd whenever tx_ring is set). Bound with protocol 0, so it receives nothing.
    /// </summary>
    public PacketSocket ChainSocket { get; }

    /// <summary>The receive ring's reader.</summary>
    public AfPacketReceiveRing Receiver { get; }

    /// <summary>The transmit ring's writer.</summary>
    public AfPacketTransmitRing Transmitter { get; }

    /// <summary>The queue's counters, written by its worker.</summary>
    public QueueCounters Counters { get; } = new();

    /// <summary>Set by the port between Start and Stop; bursts do nothing outside.</summary>
    public volatile bool Started;

    /// <summary>
    /// Opens the sockets and sets each up in the order the kernel wants (packet_mmap.rst): the
    /// version, the virtio-net header and qdisc bypass before the rings, the ring, the mapping, then
    /// bind. The caller joins the fanout group once every queue's receive socket is bound.
    /// </summary>
    public static AfPacketChannel Open(int interfaceIndex, AfPacketGeometry geometry, ushort port, ushort queue)
    {
        var opened = new List<IDisposable>(5);
        try
        {
            PacketSocket socket = Opened(opened, PacketSocket.Open(PacketSocket.EthPAll));
            socket.SetVersion(TpacketVersion.V2);
            // Each frame comes with a virtio-net header: partial checksums and super-frames a veth
            // peer's stack leaves to "hardware" arrive as such instead of as garbage checksums.
            socket.EnableVnetHeader();
            // A frame longer than a slot is queued whole, for recvmsg (AfPacketLongFrameReader).
            socket.EnableCopyThreshold();
            socket.SetReceiveBuffer(AfPacketGeometry.RxQueueBytes);
            socket.SetRxRing(geometry.Rx);
            PinnedMemory receiveMapping = Opened(opened, socket.MapRings(geometry.Rx.RingSize));
            socket.Bind(interfaceIndex);

            // Frames go straight to the driver's queue, as from a NIC's own ring; they skip the qdisc
            // and the taps, so the host's tcpdump on this interface does not see what we send.
            PacketSocket transmitSocket = Opened(opened, PacketSocket.Open(protocol: 0));
            transmitSocket.SetVersion(TpacketVersion.V3);
            transmitSocket.EnableVnetHeader();
            transmitSocket.EnableQdiscBypass();
            transmitSocket.SetTxRing(geometry.Tx);
            PinnedMemory transmitMapping = Opened(opened, transmitSocket.MapRings(geometry.Tx.RingSize));
            transmitSocket.Bind(interfaceIndex);

            // The same header and bypass on the chain socket: its frames take the ring's way to the
            // driver's queue, so they leave in the order they are sent.
            PacketSocket chainSocket = Opened(opened, PacketSocket.Open(protocol: 0));
            chainSocket.EnableVnetHeader();
            chainSocket.EnableQdiscBypass();
            chainSocket.Bind(interfaceIndex);
            return new AfPacketChannel(socket, receiveMapping, transmitSocket, transmitMapping, chainSocket, geometry, port, queue);
        }
        catch
        {
            // Mappings before their sockets, in reverse.
            for (int i = opened.Count - 1; i >= 0; i--)
                opened[i].Dispose();
            throw;
        }
    }

    /// <summary>Unmaps the rings and closes the sockets; the kernel frees the rings with the last of both.</summary>
    public void Dispose()
    {
        Started = false;
        ReceiveMapping.Dispose();
        Socket.Dispose();
        TransmitMapping.Dispose();
        TransmitSocket.Dispose();
        ChainSocket.Dispose();
    }

    private static T Opened<T>(List<IDisposable> opened, T resource) where T : IDisposable
    {
        opened.Add(resource);
        return resource;
    }
}
