using System.Net;
using System.Net.Sockets;

namespace Dataplane.Conformance.Jobs;

/// <summary>
/// Idle TCP connections from the left host through a relay to a sink on the right host, made by
/// this process: the memory test's load. A socket belongs to the network namespace its creating
/// thread was in, and stays there; so a thread of its own enters the host's namespace (setns(2) on
/// /var/run/netns/NAME), creates the sockets (and binds and listens the sink), and returns to ours.
/// Connecting, accepting and closing then work from any thread. Everything is bounded in time and
/// closed on dispose.
/// </summary>
internal sealed class IdleConnections : IDisposable
{
    private readonly List<Socket> _clients = [];
    private readonly List<Socket> _accepted = [];
    private readonly Socket _sink;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private IdleConnections(Socket sink)
    {
        _sink = sink;
        _accepting = Task.Run(AcceptAsync);
    }

    /// <summary>How many connections the sink has accepted.</summary>
    public int Accepted
    {
        get
        {
            lock (_accepted)
                return _accepted.Count;
        }
    }

    /// <summary>How many client connections are made.</summary>
    public int Connected { get; private set; }

    /// <summary>A sink listening on <paramref name="port"/> of every address of <paramref name="family"/> in <paramref name="sinkNamespace"/>; it accepts and holds.</summary>
    public static IdleConnections Listen(string sinkNamespace, int family, int port, int backlog)
    {
        Socket sink = InNamespace(sinkNamespace, () =>
        {
            var s = new Socket(family == 4 ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                s.Bind(new IPEndPoint(family == 4 ? IPAddress.Any : IPAddress.IPv6Any, port));
                s.Listen(backlog);
                return s;
            }
            catch
            {
                s.Dispose();
                throw;
            }
        });
        return new IdleConnections(sink);
    }

    /// <summary>
    /// Opens <paramref name="count"/> connections from <paramref name="clientNamespace"/> to
    /// <paramref name="to"/>, <paramref name="batch"/> at a time, each given <paramref name="limit"/>,
    /// and sends one byte on each (so that a relay that connects late has connected); returns how
    /// many were made. Stops at the first batch that made none.
    /// </summary>
    public async Task<int> ConnectAsync(string clientNamespace, IPEndPoint to, int count, int batch, TimeSpan limit, CancellationToken cancel)
    {
        Socket[] sockets = InNamespace(clientNamespace, () =>
        {
            var made = new Socket[count];
            for (int i = 0; i < count; i++)
                made[i] = new Socket(to.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            return made;
        });
        _clients.AddRange(sockets);
        byte[] one = [1];
        for (int start = 0; start < count; start += batch)
        {
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            bound.CancelAfter(limit);
            bool[] ok = await Task.WhenAll(sockets[start..Math.Min(count, start + batch)].Select(async s =>
            {
                try
                {
                    await s.ConnectAsync(to, bound.Token).ConfigureAwait(false);
                    await s.SendAsync(one, SocketFlags.None, bound.Token).ConfigureAwait(false);
                    return true;
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException)
                {
                    return false;
                }
            })).ConfigureAwait(false);
            cancel.ThrowIfCancellationRequested();
            int made = ok.Count(b => b);
            Connected += made;
            if (made == 0)
                break;
        }
        return Connected;
    }

    /// <summary>Null when a connection from <paramref name="clientNamespace"/> to <paramref name="to"/> is accepted within <paramref name="limit"/> (then closed), else why not.</summary>
    public static string? Probe(string clientNamespace, IPEndPoint to, TimeSpan limit)
    {
        using Socket s = InNamespace(clientNamespace, () => new Socket(to.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        using var bound = new CancellationTokenSource(limit);
        try
        {
            s.ConnectAsync(to, bound.Token).AsTask().GetAwaiter().GetResult();
            return null;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            // Accepted, then reset: a relay passes on its far side's refusal (no server there yet).
            return null;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode == SocketError.ConnectionRefused ? "connection refused" : e.Message;
        }
        catch (OperationCanceledException)
        {
            return $"no answer within {limit.TotalSeconds:0} s";
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket s = await _sink.AcceptAsync(_stop.Token).ConfigureAwait(false);
                lock (_accepted)
                    _accepted.Add(s);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Runs <paramref name="work"/> on a thread of its own inside the network namespace <paramref name="ns"/> (an <c>ip netns</c> name).</summary>
    private static T InNamespace<T>(string ns, Func<T> work)
    {
        T result = default!;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var ours = File.OpenHandle("/proc/thread-self/ns/net");
                using var theirs = File.OpenHandle($"/var/run/netns/{ns}");
                if (Tmds.Linux.LibC.setns((int)theirs.DangerousGetHandle(), Tmds.Linux.LibC.CLONE_NEWNET) != 0)
                    throw new IOException($"setns into {ns}: errno {Tmds.Linux.LibC.errno}");
                try
                {
                    result = work();
                }
                finally
                {
                    // The thread ends next, but a thread left in another namespace is a trap for whatever reuses it.
                    _ = Tmds.Linux.LibC.setns((int)ours.DangerousGetHandle(), Tmds.Linux.LibC.CLONE_NEWNET);
                }
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        return error is null ? result : throw new IOException($"in namespace {ns}: {error.Message}", error);
    }

    /// <summary>Closes every connection and the sink.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _sink.Dispose();
        _ = _accepting.Wait(TimeSpan.FromSeconds(5));
        foreach (Socket s in _clients)
            s.Dispose();
        lock (_accepted)
        {
            foreach (Socket s in _accepted)
                s.Dispose();
            _accepted.Clear();
        }
        _stop.Dispose();
    }
}
