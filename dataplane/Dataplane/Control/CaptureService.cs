using System.Diagnostics;
using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Ports;

namespace Dataplane.Control;

/// <summary>
/// <c>ctl capture PORT FILE [COUNT]</c>: arms a <see cref="CaptureTap"/> in the port's slot, drains
/// the workers' rings into a pcapng file on the calling (control) thread, releasing each copy's
/// reference into a buffer cache of its own, and disarms after COUNT frames or the timeout. While
/// it is armed, <c>ctl ifconfig</c> names the file under the port (<see cref="FileOf"/>): a frame
/// that arrives once that line shows is captured.
/// </summary>
internal sealed class CaptureService
{
    /// <summary>Frames captured when the request names no COUNT.</summary>
    public const int DefaultCount = 100;

    private readonly BufferPool _pool;
    private readonly IReadOnlyList<IPort> _ports;
    private readonly CaptureTap?[] _slots;
    private readonly string?[] _files;
    private readonly IReadOnlyList<WorkerContext> _workers;
    private readonly CancellationToken _stopping;

    /// <summary>A service over the engine's <paramref name="slots"/>, shared by <paramref name="workers"/>.</summary>
    public CaptureService(BufferPool pool, IReadOnlyList<IPort> ports, CaptureTap?[] slots, IReadOnlyList<WorkerContext> workers, CancellationToken stopping)
    {
        _pool = pool;
        _ports = ports;
        _slots = slots;
        _files = new string?[slots.Length];
        _workers = workers;
        _stopping = stopping;
    }

    /// <summary>How long a capture waits for COUNT frames before it stops with fewer (10 s; tests shorten it).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The file port <paramref name="port"/> is being captured to, or null: set once its tap is
    /// armed (the workers see it from their next frame on) and cleared before it is disarmed.
    /// </summary>
    public string? FileOf(int port) => Volatile.Read(ref _files[port]);

    /// <summary>Captures up to <paramref name="count"/> frames of port <paramref name="portName"/> into <paramref name="file"/>.</summary>
    public ControlReply Capture(string portName, string file, int count)
    {
        int port = -1;
        for (int p = 0; p < _ports.Count; p++)
        {
            if (_ports[p].Name == portName)
                port = p;
        }
        if (port < 0)
            return new(ControlStatus.Error, $"unknown port '{portName}' (ports: {string.Join(", ", _ports.Select(p => p.Name))})\n");
        if (!Path.IsPathFullyQualified(file))
            return new(ControlStatus.Error, $"capture: FILE must be an absolute path, not '{file}'\n");
        if (Volatile.Read(ref _slots[port]) is not null)
            return new(ControlStatus.Error, $"port {portName} is already being captured\n");

        FileStream stream;
        try
        {
            stream = new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.Read, 64 * 1024);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return new(ControlStatus.Error, $"cannot create {file}: {Reason(e, file)}\n");
        }

        // The file's headers before the tap is armed: a writer that fails arms nothing that would stay armed.
        CapturePcapng writer;
        try
        {
            writer = new CapturePcapng(stream, portName);
        }
        catch (IOException e)
        {
            stream.Dispose();
            return new(ControlStatus.Error, $"cannot write {file}: {e.Message}\n");
        }

        var tap = new CaptureTap(port, _workers.Count);
        CapturesChanged(+1); // before the slot fills: a worker looks at the slots only while this is not 0
        if (Interlocked.CompareExchange(ref _slots[port], tap, null) is not null)
        {
            CapturesChanged(-1);
            try
            {
                writer.Dispose(); // the refused request's file keeps its headers: a valid, empty capture
            }
            catch (IOException)
            {
            }
            return new(ControlStatus.Error, $"port {portName} is already being captured\n");
        }

        var cache = new BufferCache(_pool);
        int captured = 0;
        IOException? failure = null;
        try
        {
            using CapturePcapng owned = writer;
            // Workers stamp frames with the monotonic clock in ns; the file wants the Unix epoch.
            long epochOffset = UnixNanoseconds() - EngineClock.Nanoseconds();
            var buffer = new CapturedPacket[64];
            long deadline = Stopwatch.GetTimestamp() + (long)(Timeout.TotalSeconds * Stopwatch.Frequency);
            try
            {
                Volatile.Write(ref _files[port], file); // the tap is armed: ifconfig says so from here on
                while (captured < count && failure is null && !_stopping.IsCancellationRequested && Stopwatch.GetTimestamp() < deadline)
                {
                    int drained = Drain(tap, buffer, cache, writer, epochOffset, ref captured, count, ref failure);
                    if (drained == 0)
                        Thread.Sleep(1);
                }
            }
            finally
            {
                Volatile.Write(ref _files[port], null);
                Volatile.Write(ref _slots[port], null);
                CapturesChanged(-1);
                WaitForWorkersToLetGo();
                // What was queued before the workers saw the slot empty: written up to COUNT, the rest released.
                while (Drain(tap, buffer, cache, writer, epochOffset, ref captured, count, ref failure) > 0)
                {
                }
            }
        }
        catch (IOException e)
        {
            failure ??= e; // flushing the file on close
        }
        finally
        {
            cache.Flush();
        }
        if (failure is not null)
            return new(ControlStatus.Error, $"cannot write {file}: {failure.Message}\n");
        long dropped = tap.Drops;
        return new(ControlStatus.Ok, $"captured {captured} packets on {portName} to {file} ({dropped} dropped)\n");
    }

    /// <summary>Takes what the rings hold; writes frames while fewer than <paramref name="count"/> are written; releases each copy.</summary>
    private int Drain(CaptureTap tap, CapturedPacket[] buffer, BufferCache cache, CapturePcapng writer, long epochOffset, ref int captured, int count, ref IOException? failure)
    {
        int total = 0;
        foreach (SpscRing<CapturedPacket> ring in tap.Rings)
        {
            int n;
            while ((n = ring.TryDequeue(buffer)) > 0)
            {
                total += n;
                for (int i = 0; i < n; i++)
                {
                    CapturedPacket c = buffer[i];
                    if (captured < count && failure is null)
                    {
                        try
                        {
                            Write(writer, c, epochOffset);
                            captured++;
                        }
                        catch (IOException e)
                        {
                            failure = e; // stop writing, keep releasing
                        }
                    }
                    cache.Release(c.Buffer);
                }
            }
        }
        return total;
    }

    private void Write(CapturePcapng writer, CapturedPacket c, long epochOffset)
    {
        int length = _pool.Metadata(c.Buffer).PacketLength;
        int snap = Math.Min(length, CapturePcapng.SnapLength);
        Span<byte> data = writer.BeginPacket(c.Timestamp + epochOffset, snap, length);
        int at = 0;
        for (int index = c.Buffer.Index; index >= 0 && at < snap;)
        {
            var piece = new PacketBuffer(index);
            Span<byte> bytes = _pool.Data(piece);
            int take = Math.Min(bytes.Length, snap - at);
            bytes[..take].CopyTo(data[at..]);
            at += take;
            index = _pool.Metadata(piece).Next;
        }
        writer.EndPacket(c.Outbound);
    }

    /// <summary>Tells every worker that a capture is being armed (+1) or was disarmed (-1).</summary>
    private void CapturesChanged(int by)
    {
        foreach (WorkerContext worker in _workers)
            worker.CapturesChanged(by);
    }

    /// <summary>
    /// Waits until every worker has ended the turns that may still hold the tap (a grace period, as
    /// RCU's); bounded, for workers that are stopped or asleep (which hold nothing). Two turns, not
    /// one: a worker's count of turn N can become visible after its read of the slot in turn N (a
    /// store may wait in the store buffer while a later load goes ahead), so seeing N does not say
    /// the read came after the slot was emptied; seeing N + 1 says turn N is over, and its copies
    /// are in the rings (stores become visible in order, and the count is written with release).
    /// </summary>
    private void WaitForWorkersToLetGo()
    {
        long[] seen = new long[_workers.Count];
        for (int w = 0; w < seen.Length; w++)
            seen[w] = Volatile.Read(ref _workers[w].Counters.Loops);
        long deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 2;
        for (int w = 0; w < seen.Length; w++)
        {
            while (Volatile.Read(ref _workers[w].Counters.Loops) - seen[w] < 2 && Stopwatch.GetTimestamp() < deadline)
                Thread.Sleep(1);
        }
    }

    /// <summary>Why a file could not be created, in strerror's words: NativeAOT builds carry resource keys, not messages.</summary>
    private static string Reason(Exception e, string file) => e switch
    {
        _ when Directory.Exists(file) => "Is a directory",
        DirectoryNotFoundException => "No such file or directory",
        UnauthorizedAccessException => "Permission denied",
        PathTooLongException => "File name too long",
        _ => e.Message,
    };

    private static long UnixNanoseconds() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    // The same conversion as the worker's clock (Worker.RunOnce).

}
