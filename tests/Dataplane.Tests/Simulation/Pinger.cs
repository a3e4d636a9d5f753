using System.Buffers.Binary;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Fragments.IpFragments;
using static Dataplane.Tests.Stack.Frames;

namespace Dataplane.Tests.Simulation;

/// <summary>
/// ping on the client of a <see cref="RouterLab"/>, as a raw socket: echo requests of IPv4 and
/// IPv6 with random data, cut into fragments at the client's MTU when longer, go onto the client's
/// link as if its stack had sent them; what reaches the client's port is read before its stack
/// sees it, reassembled here (with the test's own code, not the stack's), and each reply whose
/// checksum holds must be the answer to a request: same identifier, sequence and data.
/// </summary>
internal sealed class Pinger
{
    private const ushort Identifier = 0x5157;
    private const int EthernetHeader = 14;

    private readonly RouterLab _lab;
    private readonly SimRandom _random;
    private readonly Dictionary<(bool V6, ushort Sequence), byte[]> _requests = [];
    private readonly Dictionary<(bool V6, uint Id), Partial> _partial = [];
    private readonly Dictionary<(bool V6, ushort Sequence), int> _answers = [];
    private readonly List<string> _wrong = [];
    private ushort _sequence;
    private ushort _id4;
    private uint _id6;

    /// <summary>Taps the client's port of <paramref name="lab"/>.</summary>
    public Pinger(RouterLab lab)
    {
        _lab = lab;
        _random = SimRandom.Stream(lab.Network.Seed, "pings");
        _id4 = (ushort)_random.Next(65536);
        _id6 = (uint)_random.NextUInt64();
        lab.Network.Arrived += OnArrived;
    }

    /// <summary>Requests sent.</summary>
    public int Sent => _requests.Count;

    /// <summary>Replies that matched a request.</summary>
    public int Replies { get; private set; }

    /// <summary>Replies whose checksum failed: the links corrupted them.</summary>
    public int BadReplies { get; private set; }

    // The requests whose replies failed their checksum.
    private readonly HashSet<(bool V6, ushort Sequence)> _badReplies = [];

    /// <summary>
    /// Schedules <paramref name="count"/> requests from <paramref name="start"/>, each up to
    /// <paramref name="maxGap"/> after the last, with up to <paramref name="maxData"/> bytes of data.
    /// </summary>
    public void Schedule(long start, int count, long maxGap, int maxData)
    {
        int mtu = _lab.Client.Stack.Interfaces[0].Mtu;
        long time = start;
        for (int i = 0; i < count; i++)
        {
            bool v6 = _random.Chance(0.5);
            int length = _random.Next(3) switch
            {
                0 => _random.Between(0, 100),
                1 => _random.Between(0, mtu - 48),
                _ => _random.Between(0, maxData),
            };
            _lab.Network.At(time, _lab.Client, () => Send(v6, length));
            time += _random.NextLong(maxGap + 1);
        }
    }

    /// <summary>
    /// Checks every reply: none may be wrong; with <paramref name="perfect"/> links each request is
    /// answered exactly once and none is corrupted; otherwise only corruption explains a bad one.
    /// </summary>
    public void Check(bool perfect)
    {
        Assert.True(_wrong.Count == 0, $"{_wrong.Count} wrong replies; the first: {_wrong.FirstOrDefault()}");
        // A corrupted request is dropped by the server; a frame of a reply flipped on the way back
        // spoils that one reply (or, its fragment identification flipped, one other), however often
        // it is duplicated and forwarded.
        long corrupted = _lab.Right.Backward.Corrupted + _lab.Left.Backward.Corrupted;
        Assert.True(_badReplies.Count <= corrupted, $"the replies to {_badReplies.Count} pings failed their checksum, but the links corrupted {corrupted} frames on the way back");
        if (!perfect)
            return;
        Assert.Equal(0, BadReplies);
        var unanswered = _requests.Keys.Where(k => _answers.GetValueOrDefault(k) != 1).ToList();
        Assert.True(unanswered.Count == 0, $"over perfect links, pings {string.Join(' ', unanswered.Select(k => $"{(k.V6 ? "v6" : "v4")}#{k.Sequence}={_answers.GetValueOrDefault(k)}"))} were not answered exactly once");
    }

    private void Send(bool v6, int dataLength)
    {
        ushort sequence = _sequence++;
        byte[] message = new byte[8 + dataLength];
        message[0] = v6 ? (byte)128 : (byte)8;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(4), Identifier);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(6), sequence);
        _random.Fill(message.AsSpan(8));
        SimulatedNode client = _lab.Client;
        MacAddress router = _lab.Router.Mac(0);
        int mtu = client.Stack.Interfaces[0].Mtu;
        if (v6)
        {
            message = Icmp6(_lab.ClientAddress6, _lab.ServerAddress6, message);
            byte[] packet = Ipv6(_lab.ClientAddress6, _lab.ServerAddress6, 58, message);
            List<byte[]> pieces = packet.Length <= mtu ? [packet] : Fragments6(packet, (mtu - 48) & ~7, _id6++);
            foreach (byte[] piece in pieces)
                _lab.Network.Inject(client, 0, Ethernet(router, client.Mac(0), TypeIpv6, piece));
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), Checksum(message));
            byte[] packet = Ipv4(_lab.ClientAddress, _lab.ServerAddress, 1, _id4++, message);
            List<byte[]> pieces = packet.Length <= mtu ? [packet] : Fragments4(packet, (mtu - 20) & ~7);
            foreach (byte[] piece in pieces)
                _lab.Network.Inject(client, 0, Ethernet(router, client.Mac(0), TypeIpv4, piece));
        }
        _requests.Add((v6, sequence), message);
        _lab.Network.Trace.Add(_lab.Network.Now, TraceKind.Note, client.Index, v6 ? 6 : 4, sequence);
    }

    private void OnArrived(SimulatedNode node, int port, byte[] frame)
    {
        if (node != _lab.Client || port != 0 || frame.Length < EthernetHeader + 20 || new MacAddress(frame) != node.Mac(0))
            return;
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12));
        ReadOnlySpan<byte> l3 = frame.AsSpan(EthernetHeader);
        if (type == TypeIpv4)
            Arrived4(l3);
        else if (type == TypeIpv6)
            Arrived6(l3);
    }

    private void Arrived4(ReadOnlySpan<byte> l3)
    {
        int headerLength = (l3[0] & 0xF) * 4;
        if (l3[0] >> 4 != 4 || headerLength < 20 || l3.Length < headerLength || Checksum(l3[..headerLength]) != 0)
            return; // the stack drops it too
        int total = BinaryPrimitives.ReadUInt16BigEndian(l3[2..]);
        if (total < headerLength || total > l3.Length || l3[9] != 1)
            return;
        var source = new Ipv4Address(l3[12..]);
        ushort word = BinaryPrimitives.ReadUInt16BigEndian(l3[6..]);
        ReadOnlySpan<byte> data = l3[headerLength..total];
        byte[]? message = (word & 0x3FFF) == 0 ? data.ToArray()
            : Reassemble((false, BinaryPrimitives.ReadUInt16BigEndian(l3[4..])), (word & 0x1FFF) * 8, (word & 0x2000) != 0, data);
        if (message is null || message.Length < 8 || message[0] != 0)
            return; // not whole yet, or not an echo reply (the router's and the server's errors)
        Reply(false, source == _lab.ServerAddress, Checksum(message) == 0, message);
    }

    private void Arrived6(ReadOnlySpan<byte> l3)
    {
        if (l3.Length < 40 || l3[0] >> 4 != 6)
            return;
        int end = 40 + BinaryPrimitives.ReadUInt16BigEndian(l3[4..]);
        if (end > l3.Length)
            return;
        var source = new Ipv6Address(l3[8..]);
        var destination = new Ipv6Address(l3[24..]);
        byte[]? message;
        if (l3[6] == 58)
        {
            message = l3[40..end].ToArray();
        }
        else if (l3[6] == 44 && end >= 48 && l3[40] == 58)
        {
            ushort word = BinaryPrimitives.ReadUInt16BigEndian(l3[42..]);
            message = Reassemble((true, BinaryPrimitives.ReadUInt32BigEndian(l3[44..])), word & 0xFFF8, (word & 1) != 0, l3[48..end]);
        }
        else
        {
            return;
        }
        if (message is null || message.Length < 8 || message[0] != 129)
            return;
        Reply(true, source == _lab.ServerAddress6, Checksum6(source, destination, 58, message) == 0, message);
    }

    /// <summary>Judges a whole echo reply.</summary>
    private void Reply(bool v6, bool fromServer, bool checksumOk, byte[] message)
    {
        ushort sequence = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(6));
        if (!checksumOk)
        {
            BadReplies++;
            _badReplies.Add((v6, sequence));
            return;
        }
        string what = $"{(v6 ? "v6" : "v4")} reply #{sequence} of {message.Length} bytes at {_lab.Network.Seconds:F6} s";
        if (!fromServer)
            _wrong.Add($"{what} not from the server");
        else if (BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(4)) != Identifier || !_requests.TryGetValue((v6, sequence), out byte[]? request))
            _wrong.Add($"{what} to no request");
        else if (request.Length != message.Length || !request.AsSpan(4).SequenceEqual(message.AsSpan(4)))
            _wrong.Add($"{what}: the request had {request.Length} bytes, they differ at {request.AsSpan(4).CommonPrefixLength(message.AsSpan(4)) + 4}");
        else
        {
            Replies++;
            _answers[(v6, sequence)] = _answers.GetValueOrDefault((v6, sequence)) + 1;
            _lab.Network.Trace.Add(_lab.Network.Now, TraceKind.Note, _lab.Client.Index, v6 ? 6 : 4, sequence);
        }
    }

    /// <summary>Adds a fragment of datagram <paramref name="key"/>; returns the datagram's data once every byte is there.</summary>
    private byte[]? Reassemble((bool V6, uint Id) key, int offset, bool more, ReadOnlySpan<byte> data)
    {
        if (!_partial.TryGetValue(key, out Partial? partial))
            _partial[key] = partial = new Partial();
        partial.Pieces.TryAdd(offset, data.ToArray()); // a duplicate keeps the first copy
        if (!more)
            partial.Total = offset + data.Length;
        if (partial.Total < 0)
            return null;
        byte[] whole = new byte[partial.Total];
        int covered = 0;
        foreach ((int at, byte[] piece) in partial.Pieces)
        {
            if (at > covered || at + piece.Length > whole.Length)
                return null; // a hole, or a piece past the end (a corrupted one): not whole
            piece.CopyTo(whole, at);
            covered = Math.Max(covered, at + piece.Length);
        }
        if (covered != partial.Total)
            return null;
        _partial.Remove(key);
        return whole;
    }

    private sealed class Partial
    {
        public SortedDictionary<int, byte[]> Pieces { get; } = [];

        public int Total { get; set; } = -1;
    }
}
