using System.Buffers.Binary;
using Dataplane.Stack.Transport;
using Dataplane.Wire;

namespace Dataplane.Tests.Simulation;

/// <summary>
/// A UDP app for the simulations: one socket per family, bound to <c>port</c> when it is not 0
/// (else to an ephemeral port at the first send); it keeps a copy of every datagram it receives
/// and, as an echo server, answers each in place as <c>app echo udp</c> does.
/// </summary>
internal sealed class UdpProbe(ushort port, bool echo) : UdpApp
{
    private UdpSocket _socket4 = null!;
    private UdpSocket _socket6 = null!;

    /// <summary>A datagram as the app saw it.</summary>
    public readonly record struct Datagram(InetEndpoint From, InetEndpoint To, byte[] Payload);

    /// <inheritdoc/>
    public override string Name => echo ? "sim echo" : "sim client";

    /// <summary>Every datagram received, in order.</summary>
    public List<Datagram> Received { get; } = [];

    /// <summary>Echoes that went out (the reply was accepted by the stack).</summary>
    public int Echoed { get; private set; }

    /// <summary>Sends <paramref name="payload"/> to <paramref name="to"/> from the socket of its family.</summary>
    public UdpError SendTo(in InetEndpoint to, ReadOnlySpan<byte> payload) => (to.IsIpv6 ? _socket6 : _socket4).SendTo(to, payload);

    /// <inheritdoc/>
    protected override UdpError OnStart()
    {
        _socket4 = Udp.Open(false, this);
        _socket6 = Udp.Open(true, this);
        if (port == 0)
            return UdpError.None;
        UdpError error = _socket4.Bind(InetEndpoint.Ipv4(Ipv4Address.Any, port));
        return error != UdpError.None ? error : _socket6.Bind(InetEndpoint.Ipv6(Ipv6Address.Any, port));
    }

    /// <inheritdoc/>
    public override void OnDatagram(UdpSocket socket, ref UdpReceived datagram)
    {
        Received.Add(new Datagram(datagram.From, datagram.To, datagram.Payload.ToArray()));
        if (echo && datagram.Reply() == UdpError.None)
            Echoed++;
    }

    /// <summary>
    /// The payload of datagram <paramref name="sequence"/>: the number, then random bytes, so that
    /// a receiver can find what was sent and compare every byte.
    /// </summary>
    public static byte[] Payload(uint sequence, int length, SimRandom random)
    {
        byte[] payload = new byte[Math.Max(length, 4)];
        BinaryPrimitives.WriteUInt32BigEndian(payload, sequence);
        random.Fill(payload.AsSpan(4));
        return payload;
    }

    /// <summary>The sequence number a payload starts with.</summary>
    public static uint SequenceOf(byte[] payload) => payload.Length < 4 ? uint.MaxValue : BinaryPrimitives.ReadUInt32BigEndian(payload);
}
