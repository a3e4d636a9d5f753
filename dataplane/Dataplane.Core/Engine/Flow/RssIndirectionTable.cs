using System.Numerics;
using System.Runtime.CompilerServices;

namespace Dataplane.Engine;

/// <summary>
/// Maps an RSS hash to the worker that owns the flow, the way a NIC maps it to a receive queue:
/// the low bits of the hash index a table of worker numbers (Microsoft's "RSS indirection table";
/// the Intel 82599 redirection table takes the 7 low bits into 128 entries). A table rather than
/// hash % N keeps the NIC and the software in agreement, spreads any worker count evenly, and lets
/// the control plane move a slice of flows by rewriting entries.
/// </summary>
internal sealed class RssIndirectionTable
{
    /// <summary>Entries of the table NICs commonly use (82599, virtio-net, Windows' default).</summary>
    public const int DefaultSize = 128;

    private readonly ushort[] _entries;
    private readonly uint _mask;

    /// <summary>
    /// A table of <paramref name="size"/> entries (a power of two) spreading flows over
    /// <paramref name="workerCount"/> workers round-robin, as Linux's ethtool_rxfh_indir_default does.
    /// </summary>
    public RssIndirectionTable(int workerCount, int size = DefaultSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workerCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(workerCount, ushort.MaxValue + 1);
        if (size < 1 || !BitOperations.IsPow2(size))
            throw new ArgumentOutOfRangeException(nameof(size), size, "the table size must be a power of two");
        WorkerCount = workerCount;
        _entries = new ushort[size];
        _mask = (uint)size - 1;
        for (int i = 0; i < size; i++)
            _entries[i] = (ushort)(i % workerCount);
    }

    /// <summary>Workers the table may name, 0 to <see cref="WorkerCount"/> - 1.</summary>
    public int WorkerCount { get; }

    /// <summary>Entries in the table.</summary>
    public int Size => _entries.Length;

    /// <summary>The worker numbers, entry by entry (what a NIC's RETA register would be loaded with).</summary>
    public ReadOnlySpan<ushort> Entries => _entries;

    /// <summary>The worker that owns a flow of hash <paramref name="hash"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int OwnerOf(uint hash) => _entries[(int)(hash & _mask)];

    /// <summary>
    /// Points entry <paramref name="index"/> at <paramref name="worker"/>. Control plane only: the
    /// table is read by every worker without synchronisation, so change it while they are stopped
    /// (flows of the entry change owner, and their state must move with them).
    /// </summary>
    public void SetEntry(int index, int worker)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_entries.Length, nameof(index));
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)worker, (uint)WorkerCount, nameof(worker));
        _entries[index] = (ushort)worker;
    }
}
