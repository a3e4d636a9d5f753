namespace Dataplane.Buffers;

/// <summary>
/// A handle to one buffer of a <see cref="BufferPool"/>: its index. Handles are what queues,
/// rings and bursts carry; the bytes and metadata stay in the pool's pinned memory.
/// </summary>
internal readonly record struct PacketBuffer(int Index)
{
    /// <summary>No buffer: the end of a chain.</summary>
    public static PacketBuffer None => new(-1);

    /// <summary>This is a buffer, not <see cref="None"/>.</summary>
    public bool IsValid => Index >= 0;
}
