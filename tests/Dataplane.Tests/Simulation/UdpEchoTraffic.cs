using Dataplane.Stack;
using Dataplane.Stack.Transport;
using Dataplane.Wire;

namespace Dataplane.Tests.Simulation;

/// <summary>
/// UDP through a <see cref="RouterLab"/>: the client sends numbered datagrams of random sizes (up
/// to what one buffer holds, so the larger ones leave in fragments) to an echo server, and every
/// datagram either end receives is compared, byte for byte, with the one sent under its number.
/// </summary>
internal sealed class UdpEchoTraffic
{
    /// <summary>The echo server's port.</summary>
    public const ushort Port = 7777;

    private readonly RouterLab _lab;
    private readonly SimRandom _random;
    private readonly Dictionary<uint, (InetEndpoint To, byte[] Payload)> _sent = [];

    /// <summary>Starts the echo server and the client's app in <paramref name="lab"/>.</summary>
    public UdpEchoTraffic(RouterLab lab)
    {
        _lab = lab;
        _random = SimRandom.Stream(lab.Network.Seed, "udp traffic");
        Server = lab.Server.Start(new UdpProbe(Port, echo: true));
        Client = lab.Client.Start(new UdpProbe(0, echo: false));
    }

    /// <summary>The echo server's app.</summary>
    public UdpProbe Server { get; }

    /// <summary>The client's app.</summary>
    public UdpProbe Client { get; }

    /// <summary>Datagrams the client sent.</summary>
    public int Sent => _sent.Count;

    /// <summary>Sends the stack refused (no buffer, no route): they never left.</summary>
    public int SendErrors { get; private set; }

    /// <summary>When the last datagram is sent.</summary>
    public long LastSend { get; private set; }

    /// <summary>
    /// Schedules <paramref name="count"/> datagrams from <paramref name="start"/>, each up to
    /// <paramref name="maxGap"/> after the last, of IPv4 or IPv6 as allowed; <paramref name="large"/>
    /// is the share of datagrams longer than the client's MTU.
    /// </summary>
    public void Schedule(long start, int count, long maxGap, bool ipv4 = true, bool ipv6 = true, double large = 0.35)
    {
        long time = start;
        int mtu = _lab.Client.Stack.Interfaces[0].Mtu;
        for (uint i = 0; i < count; i++)
        {
            bool v6 = ipv6 && (!ipv4 || _random.Chance(0.5));
            int headers = 14 + (v6 ? 40 : 20) + 8;
            int largest = _lab.Client.Pool.DataRoom - headers; // one buffer a datagram, as UdpSendCopy takes them
            int fits = mtu + 14 - headers;
            int length = _random.Chance(large) ? _random.Between(fits + 1, largest)
                : _random.Chance(0.5) ? _random.Between(4, 200) : _random.Between(4, fits);
            var to = v6 ? InetEndpoint.Ipv6(_lab.ServerAddress6, Port) : InetEndpoint.Ipv4(_lab.ServerAddress, Port);
            uint sequence = i;
            byte[] payload = UdpProbe.Payload(sequence, length, _random);
            _sent.Add(sequence, (to, payload));
            _lab.Network.At(time, _lab.Client, () =>
            {
                UdpError error = Client.SendTo(to, payload);
                _lab.Network.Trace.Add(_lab.Network.Now, TraceKind.Note, _lab.Client.Index, (int)error, sequence);
                if (error != UdpError.None)
                    SendErrors++;
            });
            LastSend = time;
            time += _random.NextLong(maxGap + 1);
        }
    }

    /// <summary>
    /// Checks every datagram both ends received: sent under its number, every byte the same, from
    /// and to the right endpoints; an echo only of what the server got; the stacks' counters agree
    /// with the apps. With <paramref name="perfect"/> links, each datagram arrives exactly once each way.
    /// </summary>
    public void Check(bool perfect)
    {
        var atServer = new Dictionary<uint, int>();
        foreach (UdpProbe.Datagram d in Server.Received)
        {
            (InetEndpoint to, byte[] payload) = Expected(d, "server");
            var from = to.IsIpv6 ? InetEndpoint.Ipv6(_lab.ClientAddress6, d.From.Port) : InetEndpoint.Ipv4(_lab.ClientAddress, d.From.Port);
            Assert.True(d.From == from && d.To == to, $"server: datagram {UdpProbe.SequenceOf(payload)} from {d.From} to {d.To}, sent from the client to {to}");
            atServer[UdpProbe.SequenceOf(payload)] = atServer.GetValueOrDefault(UdpProbe.SequenceOf(payload)) + 1;
        }
        var atClient = new Dictionary<uint, int>();
        foreach (UdpProbe.Datagram d in Client.Received)
        {
            (InetEndpoint to, byte[] payload) = Expected(d, "client");
            uint sequence = UdpProbe.SequenceOf(payload);
            Assert.True(d.From == to, $"client: echo of {sequence} from {d.From}, not from {to}");
            Assert.True(atServer.ContainsKey(sequence), $"client: echo of {sequence}, which the server never received");
            atClient[sequence] = atClient.GetValueOrDefault(sequence) + 1;
        }
        Assert.Equal(Server.Received.Count, _lab.Server.Counters.Udp[(int)UdpCounter.Delivered]);
        Assert.Equal(Client.Received.Count, _lab.Client.Counters.Udp[(int)UdpCounter.Delivered]);
        Assert.Equal(Server.Echoed, _lab.Server.Counters.Udp[(int)UdpCounter.Sent]);
        if (perfect)
        {
            Assert.Equal(0, SendErrors);
            uint[] missing = [.. _sent.Keys.Where(s => atServer.GetValueOrDefault(s) != 1 || atClient.GetValueOrDefault(s) != 1)];
            Assert.True(missing.Length == 0, $"over perfect links, datagrams {string.Join(' ', missing)} did not arrive exactly once each way");
        }
    }

    private (InetEndpoint To, byte[] Payload) Expected(in UdpProbe.Datagram d, string where)
    {
        uint sequence = UdpProbe.SequenceOf(d.Payload);
        Assert.True(_sent.TryGetValue(sequence, out (InetEndpoint To, byte[] Payload) sent), $"{where}: a datagram of {d.Payload.Length} bytes from {d.From} that was never sent (number {sequence})");
        if (!sent.Payload.AsSpan().SequenceEqual(d.Payload))
        {
            int at = sent.Payload.AsSpan().CommonPrefixLength(d.Payload);
            Assert.Fail($"{where}: datagram {sequence} from {d.From} arrived as {d.Payload.Length} bytes differing from the {sent.Payload.Length} sent at byte {at}");
        }
        return sent;
    }
}
