namespace Dataplane.Native.Tests.Xdp;

/// <summary>
/// The ring protocol alone: a producer view and a consumer view over one ring laid out in ordinary
/// memory, playing both the process's and the kernel's side, with the indices started just short of
/// the <c>u32</c> wrap so every step crosses it.
/// </summary>
[Trait("Category", "Linux")]
public unsafe class XdpRingTests
{
    private static readonly XdpRingOffset Offsets = new() { Producer = 0, Consumer = 64, Flags = 128, Descriptors = 192 };

    [Fact]
    public void Reserve_submit_peek_release_carry_addresses_across_the_index_wrap()
    {
        using PinnedMemory memory = HugePages.Allocate(4096, lockMemory: false);
        const uint Start = uint.MaxValue - 3;
        *(uint*)(memory.Pointer + Offsets.Producer) = Start;
        *(uint*)(memory.Pointer + Offsets.Consumer) = Start;
        var producer = new XdpRing(memory, Offsets, 8, XdpRingKind.Fill);
        var consumer = new XdpRing(memory, Offsets, 8, XdpRingKind.Completion);

        Assert.Equal(8u, producer.FreeCount(8));
        Assert.Equal(0u, producer.Reserve(9, out _));
        Assert.Equal(6u, producer.Reserve(6, out uint p));
        Assert.Equal(Start, p);
        for (uint k = 0; k < 6; k++)
            producer.Address(p + k) = k * 2048;
        Assert.Equal(0u, consumer.Peek(8, out _)); // nothing submitted yet
        producer.Submit(6);

        Assert.Equal(4u, consumer.Peek(4, out uint c));
        Assert.Equal(Start, c);
        for (uint k = 0; k < 4; k++)
            Assert.Equal(k * 2048, consumer.Address(c + k));
        consumer.Release(4);
        Assert.Equal(2u, consumer.Peek(8, out c));
        consumer.Cancel(2);
        Assert.Equal(2u, consumer.Peek(8, out c));
        Assert.Equal(4u * 2048, consumer.Address(c));
        Assert.Equal(5u * 2048, consumer.Address(c + 1));

        // Two entries still unreleased: only 6 free, from the cached consumer index refreshed on demand.
        Assert.Equal(0u, producer.Reserve(8, out _));
        consumer.Release(2);
        Assert.Equal(8u, producer.Reserve(8, out p));
        Assert.Equal(unchecked(Start + 6), p); // past the wrap: 2
        for (uint k = 0; k < 8; k++)
            producer.Address(p + k) = 0x10000 + k;
        producer.Submit(8);
        Assert.Equal(8u, consumer.Peek(16, out c));
        for (uint k = 0; k < 8; k++)
            Assert.Equal(0x10000 + k, consumer.Address(c + k));
        consumer.Release(8);
        Assert.Equal(unchecked(Start + 14), *(uint*)(memory.Pointer + Offsets.Consumer));
        Assert.Equal(unchecked(Start + 14), *(uint*)(memory.Pointer + Offsets.Producer));
    }

    [Fact]
    public void Descriptors_are_16_byte_slots_masked_by_the_ring_size()
    {
        using PinnedMemory memory = HugePages.Allocate(4096, lockMemory: false);
        var tx = new XdpRing(memory, Offsets, 4, XdpRingKind.Tx);
        Assert.Equal(4u, tx.Reserve(4, out uint i));
        tx.Descriptor(i + 1) = new XdpDesc { Address = 0x800, Length = 60 };
        Assert.Equal(0x800ul, *(ulong*)(memory.Pointer + Offsets.Descriptors + 16));
        Assert.Equal(60u, *(uint*)(memory.Pointer + Offsets.Descriptors + 24));
        Assert.Equal(0x800ul, tx.Descriptor(i + 5).Address); // index 5 is slot 1 again
    }

    [Fact]
    public void NeedsWakeup_reads_the_flags_word()
    {
        using PinnedMemory memory = HugePages.Allocate(4096, lockMemory: false);
        var fill = new XdpRing(memory, Offsets, 4, XdpRingKind.Fill);
        Assert.False(fill.NeedsWakeup);
        *(uint*)(memory.Pointer + Offsets.Flags) = XdpConstants.RingNeedWakeup;
        Assert.True(fill.NeedsWakeup);
    }

    [Fact]
    public void The_mapping_covers_the_descriptor_array()
    {
        Assert.Equal((nuint)(192 + 64 * 16), XdpRing.MappingLength(Offsets, 64, XdpRingKind.Rx));
        Assert.Equal((nuint)(192 + 64 * 8), XdpRing.MappingLength(Offsets, 64, XdpRingKind.Completion));
    }
}
