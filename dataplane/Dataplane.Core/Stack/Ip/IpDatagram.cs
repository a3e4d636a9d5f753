using Dataplane.Buffers;
using Dataplane.Wire;

namespace Dataplane.Stack.Ip;

/// <summary>
/// A datagram for this host as the IP layer hands it to a transport, the same for both families:
/// its addresses, its protocol and hop limit, where its transport bytes lie, the interface it came
/// in on and what the driver said of its checksums. Valid while the transport handles it (the
/// views it holds may be over the worker's linear copy of a chain).
/// </summary>
/// <remarks>
/// The transport reads <see cref="Transport"/>, one span: the bytes in the packet's buffer, or,
/// for a datagram in a chain (a jumbo frame, or reassembled into several buffers), in the worker's
/// linear copy of it (<see cref="WorkerPackets.Linearize"/>), where frame offsets are the same.
/// The chain itself stays in <see cref="Packet"/>: a transport that sends the datagram on in place
/// (a UDP echo or splice) rewrites the headers in front of <see cref="TransportOffset"/> in the
/// first buffer and sends the chain.
/// </remarks>
internal readonly ref struct IpDatagram
{
    /// <summary>The packet: one buffer or a chain, its frame starting with the Ethernet header.</summary>
    public required PacketBuffer Packet { get; init; }

    /// <summary>The interface it arrived on.</summary>
    public required NetInterface Interface { get; init; }

    /// <summary>The IP packet, from its header on: the view's span in the buffer or in the linear copy.</summary>
    public required Span<byte> Network { get; init; }

    /// <summary>Where the transport header starts in <see cref="Network"/>, behind the IP header and any extension headers.</summary>
    public required int TransportOffset { get; init; }

    /// <summary>
    /// The transport's bytes, header and payload, up to the end the IP header gives; for TCP in a
    /// chain, only what lies in the first buffer (the headers, pulled up there), the rest walked as
    /// the chain (<see cref="TransportLength"/>).
    /// </summary>
    public required Span<byte> Transport { get; init; }

    /// <summary>
    /// The transport's length in all: <see cref="Transport"/>'s, or more when it holds only the
    /// first buffer's part of a chain. TCP takes a chained datagram so, without the linear copy the
    /// other transports read (a 64 KiB super-frame copied once more for nothing: TCP reads the
    /// header in place and queues the payload in the chain).
    /// </summary>
    public int TransportLength
    {
        get => _transportLength != 0 ? _transportLength : Transport.Length;
        init => _transportLength = value;
    }

    private readonly int _transportLength;

    /// <summary>The transport protocol (the last next-header of an IPv6 packet).</summary>
    public required IpProtocol Protocol { get; init; }

    /// <summary>The source address.</summary>
    public required InetAddress Source { get; init; }

    /// <summary>The destination: one of our addresses, a broadcast or a multicast group we listen to.</summary>
    public required InetAddress Destination { get; init; }

    /// <summary>The time to live or hop limit it arrived with.</summary>
    public required byte HopLimit { get; init; }

    /// <summary>
    /// Sent to a broadcast address (limited or directed) or a multicast group, or in a link-layer
    /// broadcast or multicast frame whatever its IP destination (RFC 1122 3.3.6): not answered the
    /// way a unicast one is (no port unreachable, no reset).
    /// </summary>
    public required bool IsBroadcast { get; init; }

    /// <summary>
    /// The checksum state the driver reported (<see cref="OffloadFlags.L4ChecksumVerified"/>,
    /// <see cref="OffloadFlags.L4ChecksumPartial"/>), or none when no driver vouches for it (a
    /// reassembled datagram).
    /// </summary>
    public required OffloadFlags Offload { get; init; }

    /// <summary>IPv6 only: where the field naming the transport sits in <see cref="Network"/>, which a parameter problem points at (RFC 8200 4).</summary>
    public int NameField { get; init; }

    /// <summary>True for IPv6.</summary>
    public bool IsIpv6 => Destination.IsIpv6;

    /// <summary>Where the transport header starts in the frame (the Ethernet header in front of the IP packet).</summary>
    public int TransportFrameOffset => WorkerPackets.EthernetHeader + TransportOffset;
}
