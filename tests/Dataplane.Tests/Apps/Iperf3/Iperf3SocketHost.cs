using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Dataplane.Stack.Apps.Iperf3;

namespace Dataplane.Tests.Apps.Iperf3;

/// <summary>
/// A test-only host that drives the sans-IO sessions over System.Net.Sockets on the loopback
/// interface, one thread, select()-driven as iperf3 itself is: what the dataplane's TCP app will do
/// over its own sockets. Every socket is closed when the run ends, however it ends.
/// </summary>
internal static class Iperf3SocketHost
{
    private static readonly IPAddress Loopback = IPAddress.Loopback;

    /// <summary>Microseconds since the Unix epoch, for UDP timestamps.</summary>
    private static long UnixMicroseconds() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10;

    /// <summary>A TCP listener and a UDP socket on one free loopback port.</summary>
    public static (Socket Listener, Socket Udp) OpenServerPort()
    {
        for (int attempt = 0; ; attempt++)
        {
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(Loopback, 0));
            listener.Listen(16);
            int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
            var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                udp.Bind(new IPEndPoint(Loopback, port));
                return (listener, udp);
            }
            catch (SocketException) when (attempt < 10)
            {
                udp.Dispose();
                listener.Dispose();
            }
        }
    }

    /// <summary>A free loopback port (for a stock server to take).</summary>
    public static int FreePort()
    {
        (Socket listener, Socket udp) = OpenServerPort();
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        listener.Dispose();
        udp.Dispose();
        return port;
    }

    /// <summary>One data stream's socket and the stream it carries.</summary>
    private sealed class DataConnection(Socket socket, Iperf3Stream stream, EndPoint? udpPeer)
    {
        public Socket Socket { get; } = socket;
        public Iperf3Stream Stream { get; } = stream;
        public EndPoint? UdpPeer { get; } = udpPeer;
        public int Pending { get; set; }
        public bool Closed { get; set; }
    }

    /// <summary>
    /// Serves one test on <paramref name="listener"/>/<paramref name="udp"/> with an
    /// <see cref="Iperf3ServerSession"/> until it finishes or <paramref name="limit"/> passes. A
    /// second control connection while busy is refused; <paramref name="onRunning"/> runs once the
    /// test runs (to try one).
    /// </summary>
    public static Iperf3ServerSession Serve(Socket listener, Socket udp, TimeSpan limit, Action? onRunning = null)
    {
        var session = new Iperf3ServerSession();
        var clock = Stopwatch.StartNew();
        Socket? control = null;
        var pending = new Dictionary<Socket, (byte[] Cookie, int Count)>();
        var data = new List<DataConnection>();
        var udpPeers = new Dictionary<EndPoint, DataConnection>();
        byte[] rx = new byte[256 * 1024];
        byte[] block = [];
        bool running = false, ended = false;
        try
        {
            while (!session.IsFinished && clock.Elapsed < limit)
            {
                var read = new List<Socket> { listener, udp };
                if (control is not null)
                    read.Add(control);
                read.AddRange(pending.Keys);
                var write = new List<Socket>();
                foreach (DataConnection d in data)
                {
                    if (d.Closed || d.UdpPeer is not null)
                        continue;
                    if (d.Stream.IsSender)
                        write.Add(d.Socket);
                    else
                        read.Add(d.Socket);
                }
                if (write.Count == 0)
                    write = null!;
                Socket.Select(read, write, null, 1000);
                TimeSpan now = clock.Elapsed;
                foreach (Socket s in read)
                {
                    if (s == listener)
                    {
                        Socket accepted = listener.Accept();
                        switch (session.ClassifyConnection())
                        {
                            case Iperf3ConnectionRole.Control when control is null && session.AcceptControl():
                                accepted.NoDelay = true;
                                control = accepted;
                                break;
                            case Iperf3ConnectionRole.Data:
                                pending[accepted] = (new byte[Iperf3Cookie.Length], 0);
                                break;
                            default:
                                accepted.Send([Iperf3Payload.AccessDeniedByte]);
                                accepted.Dispose();
                                break;
                        }
                    }
                    else if (s == udp)
                    {
                        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                        int n = udp.ReceiveFrom(rx, ref from);
                        if (udpPeers.TryGetValue(from, out DataConnection? d))
                        {
                            if (!d.Stream.IsSender)
                                d.Stream.CountUdpDatagram(rx.AsSpan(0, n), UnixMicroseconds());
                        }
                        else if (session.AcceptUdpStream(now) is Iperf3Stream stream)
                        {
                            var connection = new DataConnection(udp, stream, from);
                            udpPeers[from] = connection;
                            data.Add(connection);
                            udp.SendTo(Iperf3Payload.UdpConnectReply, from);
                        }
                    }
                    else if (s == control)
                    {
                        int n = Receive(s, rx);
                        if (n <= 0)
                            session.OnControlClosed(now);
                        else
                            session.OnControlData(rx.AsSpan(0, n), now);
                    }
                    else if (pending.TryGetValue(s, out var cookie))
                    {
                        int n = Receive(s, cookie.Cookie.AsSpan(cookie.Count));
                        if (n <= 0)
                        {
                            pending.Remove(s);
                            s.Dispose();
                            continue;
                        }
                        cookie.Count += n;
                        pending[s] = cookie;
                        if (cookie.Count < Iperf3Cookie.Length)
                            continue;
                        pending.Remove(s);
                        if (session.AcceptTcpStream(cookie.Cookie, now) is Iperf3Stream stream)
                        {
                            s.Blocking = false;
                            data.Add(new DataConnection(s, stream, null));
                        }
                        else
                        {
                            s.Send([Iperf3Payload.AccessDeniedByte]);
                            s.Dispose();
                        }
                    }
                    else
                    {
                        DataConnection d = data.Find(x => x.Socket == s)!;
                        int n = Receive(s, rx);
                        if (n > 0)
                            d.Stream.CountReceived(n);
                        else if (n == 0)
                            d.Closed = true;
                    }
                }
                if (running && !ended)
                    Send(data, write, ref block, session.Parameters!, now, udp);
                session.Poll(now);
                while (session.TryDequeueEvent(out Iperf3Event e))
                {
                    if (e.Kind == Iperf3EventKind.TestStarted)
                    {
                        running = true;
                        onRunning?.Invoke();
                    }
                    else if (e.Kind == Iperf3EventKind.TestEnded)
                    {
                        ended = true;
                        CloseData(data);
                    }
                }
                if (control is not null)
                    Flush(control, session.PendingOutput, session.AdvanceOutput);
            }
        }
        finally
        {
            CloseData(data);
            foreach (Socket s in pending.Keys)
                s.Dispose();
            control?.Dispose();
        }
        return session;
    }

    /// <summary>Runs <paramref name="session"/> against a server on the loopback <paramref name="port"/> until it finishes or <paramref name="limit"/> passes.</summary>
    public static void RunClient(Iperf3ClientSession session, int port, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        var data = new List<DataConnection>();
        byte[] rx = new byte[256 * 1024];
        byte[] block = [];
        bool running = false, ended = false;
        using var control = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        control.Connect(new IPEndPoint(Loopback, port));
        bool udpTest = session.Parameters.Protocol == Iperf3Protocol.Udp;
        try
        {
            while (!session.IsFinished && clock.Elapsed < limit)
            {
                Flush(control, session.PendingOutput, session.AdvanceOutput);
                var read = new List<Socket> { control };
                var write = new List<Socket>();
                foreach (DataConnection d in data)
                {
                    if (d.Closed)
                        continue;
                    if (d.Stream.IsSender)
                    {
                        if (!udpTest)
                            write.Add(d.Socket);
                    }
                    else
                    {
                        read.Add(d.Socket);
                    }
                }
                if (write.Count == 0 || ended)
                    write = null!;
                Socket.Select(read, write, null, 1000);
                TimeSpan now = clock.Elapsed;
                foreach (Socket s in read)
                {
                    if (s == control)
                    {
                        int n = Receive(s, rx);
                        if (n <= 0)
                            session.OnControlClosed(now);
                        else
                            session.OnControlData(rx.AsSpan(0, n), now);
                        continue;
                    }
                    DataConnection d = data.Find(x => x.Socket == s)!;
                    int r = Receive(s, rx);
                    if (r > 0 && udpTest)
                        d.Stream.CountUdpDatagram(rx.AsSpan(0, r), UnixMicroseconds());
                    else if (r > 0)
                        d.Stream.CountReceived(r);
                    else if (r == 0 && !udpTest)
                        d.Closed = true;
                }
                if (running && !ended)
                    Send(data, write, ref block, session.Parameters, now, null);
                session.Poll(now);
                while (session.TryDequeueEvent(out Iperf3Event e))
                {
                    switch (e.Kind)
                    {
                        case Iperf3EventKind.StreamsRequested:
                            while (session.StreamsToCreate > 0)
                                data.Add(OpenStream(session, port));
                            break;
                        case Iperf3EventKind.TestStarted:
                            running = true;
                            break;
                        case Iperf3EventKind.TestEnded:
                            ended = true;
                            break;
                    }
                }
            }
            Flush(control, session.PendingOutput, session.AdvanceOutput);
        }
        finally
        {
            CloseData(data);
        }
    }

    private static DataConnection OpenStream(Iperf3ClientSession session, int port)
    {
        Iperf3Stream stream = session.CreateStream();
        if (session.Parameters.Protocol == Iperf3Protocol.Tcp)
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Connect(new IPEndPoint(Loopback, port));
            s.Send(session.Cookie);
            s.Blocking = false;
            return new DataConnection(s, stream, null);
        }
        var u = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 5000 };
        u.Connect(new IPEndPoint(Loopback, port));
        u.Send(Iperf3Payload.UdpConnectMessage);
        byte[] reply = new byte[4];
        int n = u.Receive(reply);
        if (!Iperf3Payload.IsUdpConnectReply(reply.AsSpan(0, n)))
            throw new InvalidOperationException("no UDP connect reply");
        u.Blocking = false;
        return new DataConnection(u, stream, null);
    }

    /// <summary>Writes blocks on the sender streams that may send: TCP where select found room, UDP as the rate allows.</summary>
    private static void Send(List<DataConnection> data, List<Socket>? writable, ref byte[] block, Iperf3Parameters p, TimeSpan now, Socket? serverUdp)
    {
        if (block.Length == 0)
        {
            block = new byte[p.EffectiveLength];
            Iperf3Payload.Fill(block, p.RepeatingPayload);
        }
        foreach (DataConnection d in data)
        {
            if (!d.Stream.IsSender || d.Closed)
                continue;
            if (p.Protocol == Iperf3Protocol.Udp)
            {
                for (int burst = 0; burst < 64 && d.Stream.MaySend(now); burst++)
                {
                    d.Stream.StampUdpBlock(block, UnixMicroseconds());
                    SocketError error;
                    int n = serverUdp is not null
                        ? serverUdp.SendTo(block, d.UdpPeer!)
                        : d.Socket.Send(block, 0, block.Length, SocketFlags.None, out error);
                    if (n > 0)
                        d.Stream.CountSent(n);
                }
                continue;
            }
            if (writable is null || !writable.Contains(d.Socket) || !d.Stream.MaySend(now))
                continue;
            int offset = d.Pending == 0 ? 0 : block.Length - d.Pending;
            int sent = d.Socket.Send(block, offset, block.Length - offset, SocketFlags.None, out SocketError e);
            if (e is SocketError.WouldBlock)
                continue;
            if (e != SocketError.Success)
            {
                d.Closed = true;
                continue;
            }
            d.Pending = (d.Pending == 0 ? block.Length : d.Pending) - sent;
            d.Stream.CountSent(sent, blockDone: d.Pending == 0);
        }
    }

    private static int Receive(Socket s, Span<byte> buffer)
    {
        int n = s.Receive(buffer, SocketFlags.None, out SocketError error);
        return error switch
        {
            SocketError.Success => n,
            SocketError.WouldBlock => -1,
            _ => 0,
        };
    }

    private static void Flush(Socket control, ReadOnlySpan<byte> output, Action<int> advance)
    {
        while (!output.IsEmpty)
        {
            int n = control.Send(output, SocketFlags.None, out SocketError error);
            if (error != SocketError.Success || n <= 0)
                return;
            advance(n);
            output = output[n..];
        }
    }

    private static void CloseData(List<DataConnection> data)
    {
        foreach (DataConnection d in data)
        {
            if (d.UdpPeer is null)
                d.Socket.Dispose();
            d.Closed = true;
        }
    }
}
