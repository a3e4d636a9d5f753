using Dataplane.Engine;
using Dataplane.Native;

namespace Dataplane.Drivers;

/// <summary>
/// The engine's flow placement handed to the kernel for the host-backed ports (tap, afpacket): a
/// <see cref="FlowSteeringProgram"/> computing the engine's symmetric Toeplitz hash and its table of
/// owners, so that the kernel puts each flow on the queue of the worker that owns it, in both
/// directions and on every port. Without it the kernel spreads flows by its own hash (tun's flow
/// table, fanout's skb_get_hash), which agrees with the engine's for about one flow in as many as
/// there are workers; the other frames are received by one worker and handed to their owner, a
/// cross-core ring and often a wake-up for each.
/// </summary>
internal static class HostFlowSteering
{
    /// <summary>What ifconfig shows of a port whose kernel places flows by the engine's hash.</summary>
    public const string SteeredMode = "flows steered";

    /// <summary>What ifconfig shows of a multi-queue port whose kernel places flows by its own hash.</summary>
    public const string KernelHashMode = "kernel hash";

    /// <summary>
    /// The program for <paramref name="key"/> and <paramref name="owners"/>, worker i draining queue i;
    /// null, with the reason in <paramref name="why"/>, when the key has no 16-bit period (the
    /// program folds the tuple to 16 bits, which only such a key allows) or the kernel refuses the
    /// program (no CAP_BPF, BPF off).
    /// </summary>
    public static FlowSteeringProgram? TryLoad(ReadOnlySpan<byte> key, RssIndirectionTable owners, out string? why)
    {
        ArgumentNullException.ThrowIfNull(owners);
        why = null;
        if (key.Length < ToeplitzHash.KeyLength || key.Length > ToeplitzHash.MaxKeyLength || !HasSixteenBitPeriod(key))
        {
            why = "the flow hash key does not repeat every 16 bits, so the kernel cannot compute the hash";
            return null;
        }
        var hash = new ToeplitzHash(key);
        Span<uint> windows = stackalloc uint[FlowSteeringProgram.WindowCount];
        Span<byte> word = stackalloc byte[2];
        for (int j = 0; j < windows.Length; j++)
        {
            // The key window of input bit j (0 the most significant of a 16-bit word): the hash of that bit alone.
            word.Clear();
            word[j >> 3] = (byte)(0x80 >> (j & 7));
            windows[j] = hash.Hash(word);
        }
        try
        {
            return FlowSteeringProgram.Load(windows, owners.Entries);
        }
        catch (NativeException e)
        {
            why = e.Message;
            return null;
        }
    }

    /// <summary>
    /// The program for the placement an engine of <paramref name="queues"/> workers makes (its key, the
    /// table spreading the entries round robin): what a port sets when it opens, before the engine
    /// tells it its own placement (<see cref="Ports.IFlowSteering"/>).
    /// </summary>
    public static FlowSteeringProgram? TryLoadDefault(int queues, out string? why)
        => TryLoad(ToeplitzHash.SymmetricKey, new RssIndirectionTable(queues), out why);

    private static bool HasSixteenBitPeriod(ReadOnlySpan<byte> key)
    {
        for (int i = 2; i < key.Length; i++)
        {
            if (key[i] != key[i - 2])
                return false;
        }
        return true;
    }
}
