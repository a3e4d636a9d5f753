using System.Runtime.InteropServices;
using Dataplane.Native;

namespace Dataplane.Engine;

/// <summary>Work another thread hands to a worker, run on the worker's thread between bursts.</summary>
internal interface IWorkerTask
{
    /// <summary>Runs on the worker's thread: may open sockets, start apps, schedule timers.</summary>
    void Run();
}

/// <summary>
/// How the control thread (a <c>ctl</c> request, say <c>ctl iperf3</c>) hands work to a worker,
/// whose sockets and apps only its own thread may touch: a small bounded queue with many producers
/// (control threads) and one consumer (the worker), polled once per turn of the worker's loop, and
/// the worker woken from its idle sleep when something is posted. Also lets one worker wake another
/// (<see cref="Wake"/>) when it changed state the other polls for.
/// </summary>
/// <remarks>
/// Dmitry Vyukov's bounded MPMC queue (1024cores.net, "Bounded MPMC queue"), used with a single
/// consumer: each cell carries a sequence number; a producer claims a cell by a CAS on the enqueue
/// index and publishes it by a release store of the cell's sequence; the consumer reads the
/// sequence with acquire, takes the task, and hands the cell back a lap ahead. No locks, no
/// allocation after construction; when full, <see cref="TryPost"/> says so. An empty poll is one
/// acquire load of one cell, which is all the fast path pays.
/// </remarks>
internal sealed class WorkerMailbox
{
    /// <summary>Tasks the mailbox holds: a ctl request is rare and posts one.</summary>
    public const int Capacity = 16;

    private const long Mask = Capacity - 1;

    private readonly Cell[] _cells = new Cell[Capacity];
    private readonly EventFd? _wakeup;
    private long _enqueue; // producers, CAS
    private long _dequeue; // the worker only
    private volatile bool _sleeping;

    [StructLayout(LayoutKind.Auto)]
    private struct Cell
    {
        public long Sequence;
        public IWorkerTask? Task;
    }

    /// <summary>A mailbox whose worker sleeps on <paramref name="wakeup"/> (none: a worker that never sleeps, as in tests).</summary>
    public WorkerMailbox(EventFd? wakeup)
    {
        _wakeup = wakeup;
        for (int i = 0; i < Capacity; i++)
            _cells[i].Sequence = i;
    }

    /// <summary>Set by the worker around its idle sleep, so that a post or <see cref="Wake"/> signals only a sleeper.</summary>
    internal bool Sleeping
    {
        get => _sleeping;
        set => _sleeping = value;
    }

    /// <summary>Whether a task waits (the worker checks before it sleeps).</summary>
    internal bool HasWork
    {
        get
        {
            long pos = _dequeue;
            return Volatile.Read(ref _cells[pos & Mask].Sequence) == pos + 1;
        }
    }

    /// <summary>Posts <paramref name="task"/> from any thread; false when the mailbox is full.</summary>
    public bool TryPost(IWorkerTask task)
    {
        long pos = Volatile.Read(ref _enqueue);
        while (true)
        {
            ref Cell cell = ref _cells[pos & Mask];
            long sequence = Volatile.Read(ref cell.Sequence);
            long difference = sequence - pos;
            if (difference == 0)
            {
                if (Interlocked.CompareExchange(ref _enqueue, pos + 1, pos) == pos)
                {
                    cell.Task = task;
                    Volatile.Write(ref cell.Sequence, pos + 1); // publish: the task is written
                    Wake();
                    return true;
                }
                pos = Volatile.Read(ref _enqueue);
            }
            else if (difference < 0)
            {
                return false; // a lap behind: full
            }
            else
            {
                pos = Volatile.Read(ref _enqueue); // another producer took it
            }
        }
    }

    /// <summary>Wakes the worker if it sleeps; from any thread.</summary>
    public void Wake()
    {
        // Full fence: what the caller published (a task, a flag) is visible before the worker's
        // flag is read, as the worker fences between raising it and looking (Worker.Sleep).
        Interlocked.MemoryBarrier();
        if (_sleeping)
            _wakeup?.Signal();
    }

    /// <summary>Runs the tasks waiting, on the worker's thread; returns how many ran.</summary>
    internal int RunPending()
    {
        int ran = 0;
        while (ran < Capacity)
        {
            long pos = _dequeue;
            ref Cell cell = ref _cells[pos & Mask];
            if (Volatile.Read(ref cell.Sequence) != pos + 1)
                break;
            IWorkerTask task = cell.Task!;
            cell.Task = null;
            _dequeue = pos + 1;
            Volatile.Write(ref cell.Sequence, pos + Capacity); // the cell is free for the next lap
            task.Run();
            ran++;
        }
        return ran;
    }
}
