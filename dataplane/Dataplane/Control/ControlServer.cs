using System.Net.Sockets;
using System.Text;

namespace Dataplane.Control;

/// <summary>The control socket could not be served; the message says why, for the user.</summary>
internal sealed class ControlSocketException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The control socket of <c>dataplane run</c>: a Unix stream socket, mode 0600, served by one
/// background thread (never a worker) that answers one request per connection, one connection at
/// a time, with what <see cref="ControlCommands"/> says. Disposing it stops the thread and removes
/// the socket file.
/// </summary>
internal sealed class ControlServer : IDisposable
{
    /// <summary>How often the accept loop looks at the stop flag, in microseconds.</summary>
    private const int PollMicroseconds = 100_000;

    /// <summary>How long a client may take to send its request or read the reply.</summary>
    private const int ClientTimeoutMilliseconds = 2000;

    private readonly Socket _listener;
    private readonly Func<string, ControlReply> _handler;
    private readonly Thread _thread;
    private volatile bool _stopping;
    private readonly List<Thread> _long = [];

    private ControlServer(string path, Socket listener, Func<string, ControlReply> handler)
    {
        Path = path;
        _listener = listener;
        _handler = handler;
        _thread = new Thread(Serve) { IsBackground = true, Name = "dataplane-control" };
    }

    /// <summary>The socket's path.</summary>
    public string Path { get; }

    /// <summary>
    /// Binds <paramref name="path"/> and starts answering with <paramref name="handler"/>. Throws
    /// <see cref="ControlSocketException"/> when the path cannot be served: another instance
    /// listens there, something that is not a socket is in the way, or the bind fails.
    /// </summary>
    public static ControlServer Start(string path, Func<string, ControlReply> handler)
    {
        RemoveStale(path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            // Before listen, so no one can connect while the mode is still the umask's.
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            listener.Listen(16);
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            listener.Dispose();
            throw new ControlSocketException($"cannot serve the control socket {path}: {e.Message}", e);
        }
        var server = new ControlServer(path, listener, handler);
        server._thread.Start();
        return server;
    }

    /// <summary>Removes a socket file at <paramref name="path"/> that nothing listens on; refuses anything else.</summary>
    private static void RemoveStale(string path)
    {
        if (Directory.Exists(path))
            throw new ControlSocketException($"cannot serve the control socket {path}: it is a directory");
        if (!File.Exists(path))
            return;
        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new ControlSocketException($"cannot serve the control socket {path}: another dataplane is listening on it");
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
                // Nothing listens: a socket left by an instance that did not stop cleanly, or not a socket.
            }
            catch (SocketException e)
            {
                throw new ControlSocketException($"cannot serve the control socket {path}: {e.Message}", e);
            }
        }
        // Linux refuses a connect to any file the same way; a socket file is empty, so a file with
        // bytes in it is somebody's data and stays.
        if (new FileInfo(path).Length != 0)
            throw new ControlSocketException($"cannot serve the control socket {path}: a file that is not a socket is in the way");
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ControlSocketException($"cannot remove the stale control socket {path}: {e.Message}", e);
        }
    }

    private void Serve()
    {
        while (!_stopping)
        {
            Socket client;
            try
            {
                if (!_listener.Poll(PollMicroseconds, SelectMode.SelectRead))
                    continue;
                client = _listener.Accept();
            }
            catch (SocketException)
            {
                continue; // the client went away between poll and accept
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            string request;
            try
            {
                client.ReceiveTimeout = ClientTimeoutMilliseconds;
                client.SendTimeout = ClientTimeoutMilliseconds;
                request = ReadLine(client);
            }
            catch (SocketException)
            {
                client.Dispose();
                continue;
            }
            if (IsLong(request))
            {
                // A capture runs for seconds: on a thread of its own, so other requests (and a
                // capture of another port) are answered meanwhile.
                var thread = new Thread(() =>
                {
                    using (client)
                        Answer(client, request);
                }) { IsBackground = true, Name = "dataplane-control long" };
                lock (_long)
                {
                    _long.RemoveAll(t => !t.IsAlive);
                    _long.Add(thread);
                }
                thread.Start();
                continue;
            }
            using (client)
                Answer(client, request);
        }
    }

    /// <summary>Requests that take long: <c>capture</c>, <c>iperf3</c>.</summary>
    private static bool IsLong(string request)
    {
        string trimmed = request.TrimStart(' ', '\t');
        return trimmed.StartsWith("capture", StringComparison.Ordinal) || trimmed.StartsWith("iperf3", StringComparison.Ordinal);
    }

    private void Answer(Socket client, string request)
    {
        try
        {
            ControlReply reply;
            try
            {
                reply = _handler(request);
            }
#pragma warning disable CA1031 // the control thread answers every request, whatever a report throws
            catch (Exception e)
#pragma warning restore CA1031
            {
                reply = new(ControlStatus.Error, $"{e.GetType().Name}: {e.Message}\n");
            }
            client.Send(Encoding.UTF8.GetBytes(ControlProtocol.Format(reply)));
            client.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // The client gave up or timed out; the next one is served as usual.
        }
    }

    private static string ReadLine(Socket client)
    {
        byte[] buffer = new byte[ControlProtocol.MaxRequest];
        int length = 0;
        while (length < buffer.Length)
        {
            int n = client.Receive(buffer.AsSpan(length));
            if (n == 0)
                break;
            int newline = buffer.AsSpan(length, n).IndexOf((byte)'\n');
            length += n;
            if (newline >= 0)
            {
                length = length - n + newline;
                break;
            }
        }
        return Encoding.UTF8.GetString(buffer, 0, length).TrimEnd('\r');
    }

    /// <summary>Stops answering, waits for the thread and removes the socket file.</summary>
    public void Dispose()
    {
        if (_stopping)
            return;
        _stopping = true;
        _thread.Join();
        Thread[] running;
        lock (_long)
            running = [.. _long];
        foreach (Thread thread in running)
            thread.Join(); // captures stop when the dataplane does (their handler's token)
        _listener.Dispose();
        try
        {
            File.Delete(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Someone else removed or replaced it; nothing of ours is left to clean.
        }
    }
}
