using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Tests.Simulation;

/// <summary>
/// A TCP client app for the simulation: each stream connects to an echo server, sends its payload
/// as fast as the connection takes it, half-closes, and checks every byte that comes back against
/// what it sent, in order; the stream is done when the server's FIN follows the last byte.
/// </summary>
internal sealed class TcpEchoClient : TcpApp
{
    private readonly byte[] _scratch = new byte[8192];
    private readonly List<Stream> _streams = [];

    /// <summary>One connection's story.</summary>
    internal sealed class Stream(int index, InetEndpoint server, byte[] payload)
    {
        /// <summary>The stream's number.</summary>
        public int Index { get; } = index;

        /// <summary>Where it connects.</summary>
        public InetEndpoint Server { get; } = server;

        /// <summary>What it sends.</summary>
        public byte[] Payload { get; } = payload;

        /// <summary>The socket, while open.</summary>
        public TcpSocket? Socket { get; set; }

        /// <summary>Bytes handed to the stack.</summary>
        public int Sent { get; set; }

        /// <summary>Bytes that came back, each checked.</summary>
        public int Echoed { get; set; }

        /// <summary>The first byte that came back wrong, or -1.</summary>
        public long FirstMismatch { get; set; } = -1;

        /// <summary>The echo ended with the server's FIN after every byte.</summary>
        public bool Finished { get; set; }

        /// <summary>When the echo finished, on the simulation's clock.</summary>
        public long FinishedAt { get; set; }

        /// <summary>How the connection ended, when it did without finishing.</summary>
        public TcpError? Error { get; set; }

        /// <summary>What connect said.</summary>
        public TcpError ConnectResult { get; set; }

        /// <inheritdoc/>
        public override string ToString() => $"stream {Index} to {Server}: sent {Sent}/{Payload.Length}, echoed {Echoed}, finished {Finished}, error {Error?.ToString() ?? "-"}, connect {ConnectResult}, mismatch at {FirstMismatch}";
    }

    /// <inheritdoc/>
    public override string Name => "echo client";

    /// <summary>The streams opened so far.</summary>
    public IReadOnlyList<Stream> Streams => _streams;

    /// <inheritdoc/>
    protected override TcpError OnStart() => TcpError.None;

    /// <summary>Opens a stream to <paramref name="server"/> that sends <paramref name="payload"/>.</summary>
    public Stream Open(InetEndpoint server, byte[] payload)
    {
        var stream = new Stream(_streams.Count, server, payload);
        _streams.Add(stream);
        TcpSocket socket = Tcp.Open(server.IsIpv6, this);
        socket.UserState = stream;
        stream.Socket = socket;
        stream.ConnectResult = socket.Connect(server);
        if (stream.ConnectResult != TcpError.None)
        {
            stream.Error = stream.ConnectResult;
            socket.Close();
            stream.Socket = null;
        }
        return stream;
    }

    /// <inheritdoc/>
    protected internal override void OnConnected(TcpSocket connection) => Pump(connection);

    /// <inheritdoc/>
    protected internal override void OnSendSpace(TcpSocket connection) => Pump(connection);

    /// <inheritdoc/>
    protected internal override void OnReceive(TcpSocket connection)
    {
        var stream = (Stream)connection.UserState!;
        int n;
        while ((n = connection.Receive(_scratch)) > 0)
        {
            ReadOnlySpan<byte> got = _scratch.AsSpan(0, n);
            int expected = Math.Min(n, stream.Payload.Length - stream.Echoed);
            if (stream.FirstMismatch < 0)
            {
                if (expected < n)
                    stream.FirstMismatch = stream.Payload.Length;
                else if (!got.SequenceEqual(stream.Payload.AsSpan(stream.Echoed, n)))
                    stream.FirstMismatch = stream.Echoed + got.CommonPrefixLength(stream.Payload.AsSpan(stream.Echoed, n));
            }
            stream.Echoed += n;
        }
        if (connection.IsReceiveFinished)
        {
            stream.Finished = stream.Echoed == stream.Payload.Length;
            stream.FinishedAt = Tcp.Context.Now;
            connection.Close();
            stream.Socket = null;
        }
    }

    /// <inheritdoc/>
    protected internal override void OnClosed(TcpSocket connection, TcpError reason)
    {
        var stream = (Stream)connection.UserState!;
        if (!stream.Finished)
            stream.Error = reason;
        connection.Close();
        stream.Socket = null;
    }

    private static void Pump(TcpSocket connection)
    {
        var stream = (Stream)connection.UserState!;
        while (stream.Sent < stream.Payload.Length)
        {
            int n = connection.Send(stream.Payload.AsSpan(stream.Sent));
            if (n <= 0)
                return;
            stream.Sent += n;
        }
        connection.Shutdown();
    }
}
