using BenchmarkDotNet.Attributes;
using Dataplane.Engine;
using Dataplane.Stack.Apps;
using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Benchmarks;

/// <summary>
/// Connections opened and closed per second, one core doing both ends: two stacks back to back
/// (<see cref="TcpBackToBack"/>), both workers turned on the benchmark thread. The client keeps
/// <see cref="Concurrency"/> connections in flight to the server's echo app; each connects, with
/// <see cref="Echo"/> sends one byte and waits for it to come back, then ends as <see cref="End"/>
/// says. An operation is one connection, counted done when the server's side of every connection
/// of the batch is gone too.
/// <para>
/// TIME-WAIT: with <see cref="TcpConnectionEnd.Close"/> the client closes first and holds each
/// four-tuple for 60 s (2 MSL); a SYN to a four-tuple in TIME-WAIT is not taken (RFC 5961 4.2's
/// challenge ACK, no RFC 6191 reuse), so one client address reaches one server endpoint at most
/// 16,384 times a minute (the ephemeral range): 273 connections/s sustained. The benchmark goes
/// round that as a client with many server ports would: each batch of <c>ConnectionsPerInvoke</c>
/// goes to a fresh port of the 32 the server listens on. What TIME-WAIT still costs is in the
/// figures: the table grows by a batch every invocation (the TIME-WAIT sockets, their timers, a
/// bigger dictionary: the allocation column), and the ephemeral port search walks past the ports
/// in use. <see cref="TcpConnectionEnd.Abort"/> (a reset, as SO_LINGER 0) leaves no TIME-WAIT and
/// shows the difference.
/// </para>
/// </summary>
[MemoryDiagnoser]
[Config(typeof(TcpConnectionConfig))]
public class TcpConnectionBenchmarks
{
    private const int ConnectionsPerInvoke = 10_000;
    private const ushort FirstPort = 7000;
    private const int Ports = 32;

    private TcpBackToBack _pair = null!;
    private TcpChurnApp _client = null!;
    private int _nextPort;

    /// <summary>Whether each connection carries one byte there and back.</summary>
    [Params(false, true)]
    public bool Echo { get; set; }

    /// <summary>How each connection ends.</summary>
    [Params(TcpConnectionEnd.Close, TcpConnectionEnd.Abort)]
    public TcpConnectionEnd End { get; set; }

    /// <summary>Connections in flight at once.</summary>
    public int Concurrency { get; set; } = 64;

    /// <summary>The stacks, 32 listening echo apps, and a first batch to warm up.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _pair = new TcpBackToBack(poolBuffers: 16_384, connections: 400_000, buffer: 64 * 1024);
        for (int p = 0; p < Ports; p++)
            Check(_pair.Server.Tcp.Start(new TcpEchoApp(TcpBackToBack.ServerEndpoint((ushort)(FirstPort + p)))), "start an echo app");
        _client = new TcpChurnApp(Concurrency, Echo, End);
        Check(_pair.Client.Tcp.Start(_client), "start the client");
        // Past the announcements at 0, 1 and 2 s, and a first batch to get the code compiled.
        long until = EngineClock.Nanoseconds() + 2_500_000_000;
        while (EngineClock.Nanoseconds() < until)
            _pair.Turn();
        Batch();
    }

    /// <summary>One batch of connections to the next server port.</summary>
    [Benchmark(OperationsPerInvoke = ConnectionsPerInvoke)]
    public long OpenAndClose()
    {
        _pair.ConfirmNeighbours();
        return Batch();
    }

    /// <summary>Prints what the table holds after the run.</summary>
    [GlobalCleanup]
    public void Cleanup()
        => Console.WriteLine($"// Echo={Echo} End={End}: {_client.Completed} connections, {_client.Failed} failed; the client holds {_pair.Client.Tcp.ConnectionCount} (TIME-WAIT), the server {_pair.Server.Tcp.ConnectionCount}; {_pair.EngineDrops} engine drops");

    private long Batch()
    {
        _client.Remote = TcpBackToBack.ServerEndpoint((ushort)(FirstPort + _nextPort++ % Ports));
        _client.Target += ConnectionsPerInvoke;
        TcpSocketTable server = _pair.Server.Tcp;
        long until = EngineClock.Nanoseconds() + 60_000_000_000;
        while (_client.Completed + _client.Failed < _client.Target || server.ConnectionCount != 0)
        {
            _client.Pump();
            _pair.Turn();
            if (EngineClock.Nanoseconds() > until)
                throw new InvalidOperationException($"a batch did not finish in 60 s: {_client.Completed} of {_client.Target} done, {server.ConnectionCount} left at the server");
        }
        if (_client.Failed != 0)
            throw new InvalidOperationException($"{_client.Failed} connections failed; the last: {_client.LastFailure}");
        return _client.Completed;
    }

    private static void Check(TcpError error, string what)
    {
        if (error != TcpError.None)
            throw new InvalidOperationException($"{what}: {error}");
    }
}
