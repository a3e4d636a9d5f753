using System.Buffers.Binary;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// Two or more <see cref="TcpPeer"/>s on port 0 of one host (a relay's client and its server, both
/// played by the test): the stack's frames are handed to each by their TCP destination port, so
/// one peer's <see cref="TcpPeer.Sent"/> does not take the other's.
/// </summary>
internal sealed class PeerWire
{
    private readonly StackHarness _host;
    private readonly Dictionary<ushort, List<byte[]>> _waiting = [];

    public PeerWire(StackHarness host, params TcpPeer[] peers)
    {
        _host = host;
        foreach (TcpPeer peer in peers)
            Attach(peer);
    }

    /// <summary>Makes <paramref name="peer"/> take its frames from the wire.</summary>
    public void Attach(TcpPeer peer)
    {
        _waiting[peer.Port] = [];
        peer.FrameSource = () => Take(peer.Port);
    }

    private List<byte[]> Take(ushort port)
    {
        foreach (byte[] frame in _host.Sent(0))
        {
            if (Frames.IsNeighborDiscovery(frame))
                continue;
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12));
            int transport = type == 0x86DD ? 14 + 40 : 14 + (frame[14] & 0x0F) * 4;
            ushort destination = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(transport + 2));
            Assert.True(_waiting.ContainsKey(destination), $"a frame to port {destination}, which no peer plays");
            _waiting[destination].Add(frame);
        }
        List<byte[]> mine = [.. _waiting[port]];
        _waiting[port].Clear();
        return mine;
    }
}
