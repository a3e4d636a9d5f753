using Dataplane.Engine;
using Dataplane.Stack.Apps;
using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Benchmarks;

/// <summary>
/// Memory per idle established connection (not a BenchmarkDotNet benchmark: a measurement of what
/// stays, run by <c>Program</c> with the argument <c>tcp-memory</c>). Two stacks back to back
/// (<see cref="TcpBackToBack"/>); the client opens <see cref="Connections"/> connections to the
/// server's echo app and holds them open and idle. Before and after: the managed heap after a full
/// collection (GC.GetTotalMemory(true)), the bytes the thread allocated
/// (GC.GetAllocatedBytesForCurrentThread), and the packet buffers the connections' queues hold.
/// A connection is two sockets here, one at each end; the figures are given per socket (one end,
/// what a server holds per client). A first pair of stacks warms up the code and is thrown away, so
/// that the JIT's and the runtime's one-time allocations are not counted.
/// </summary>
internal static class TcpIdleMemory
{
    private const int Connections = 10_000;

    /// <summary>Runs the measurement and prints the figures.</summary>
    public static void Run()
    {
        Measure(connections: 200, print: false); // warm-up on stacks of its own
        Measure(Connections, print: true);
    }

    private static void Measure(int connections, bool print)
    {
        var pair = new TcpBackToBack(poolBuffers: 16_384, connections: 4 * connections);
        Check(pair.Server.Tcp.Start(new TcpEchoApp(TcpBackToBack.ServerEndpoint(7000))), "start the echo app");
        var client = new TcpChurnApp(concurrency: 256, echo: false, TcpConnectionEnd.Hold) { Remote = TcpBackToBack.ServerEndpoint(7000) };
        Check(pair.Client.Tcp.Start(client), "start the client");
        long until = EngineClock.Nanoseconds() + 2_500_000_000; // past the announcements at 0, 1 and 2 s
        while (EngineClock.Nanoseconds() < until)
            pair.Turn();

        long heap0 = GC.GetTotalMemory(forceFullCollection: true);
        long allocated0 = GC.GetAllocatedBytesForCurrentThread();
        int buffers0 = pair.BuffersOutstanding;
        client.Target = connections;
        until = EngineClock.Nanoseconds() + 60_000_000_000;
        while (client.Completed + client.Failed < connections || pair.Server.Tcp.ConnectionCount < connections)
        {
            client.Pump();
            pair.Turn();
            if (EngineClock.Nanoseconds() > until)
                throw new InvalidOperationException($"{client.Completed} of {connections} connections open after 60 s");
        }
        // Let the last handshakes' ACKs land and the rings drain: idle.
        until = EngineClock.Nanoseconds() + 300_000_000;
        while (EngineClock.Nanoseconds() < until)
            pair.Turn();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocated0;
        long heap = GC.GetTotalMemory(forceFullCollection: true) - heap0;
        int buffers = pair.BuffersOutstanding - buffers0;
        int held = pair.Client.Tcp.BuffersHeld + pair.Server.Tcp.BuffersHeld;
        if (client.Failed != 0)
            throw new InvalidOperationException($"{client.Failed} connections failed; the last: {client.LastFailure}");
        if (!print)
            return;
        int sockets = pair.Client.Tcp.ConnectionCount + pair.Server.Tcp.ConnectionCount;
        Console.WriteLine($"Idle established TCP connections: {connections} connections = {sockets} sockets (both ends in this process), 1 MiB buffers (set tcp buffer)");
        Console.WriteLine($"  managed heap retained (GC.GetTotalMemory(true) delta): {heap} B = {(double)heap / sockets:0} B per socket");
        Console.WriteLine($"  allocated while opening (GC.GetAllocatedBytesForCurrentThread delta): {allocated} B = {(double)allocated / sockets:0} B per socket");
        Console.WriteLine($"  packet buffers held by the connections' queues: {held} ({(double)held / sockets:0.###} per socket); outstanding in all (rings, caches aside): {buffers}");
        long socket0 = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
            GC.KeepAlive(new TcpSocket(pair.Client.Tcp));
        Console.WriteLine($"  of which a TcpSocket as new (the object and the arrays it starts with): {(GC.GetAllocatedBytesForCurrentThread() - socket0) / 100} B; the rest is the tables' share (connection dictionary, slots, timer wheel)");
        Console.WriteLine($"  buffer pool: {pair.Pool.Count} buffers of {pair.Pool.DataRoom} B data room (packet memory is preallocated, not per connection)");
        GC.KeepAlive(client.Held);
    }

    private static void Check(TcpError error, string what)
    {
        if (error != TcpError.None)
            throw new InvalidOperationException($"{what}: {error}");
    }
}
