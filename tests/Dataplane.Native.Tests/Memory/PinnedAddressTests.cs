namespace Dataplane.Native.Tests.Memory;

public class PinnedAddressTests
{
    [Fact]
    public void A_span_by_address_covers_exactly_its_length_whichever_type_the_length_has()
    {
        byte[] memory = GC.AllocateArray<byte>(70_000, pinned: true);
        for (int i = 0; i < memory.Length; i++)
            memory[i] = (byte)(i * 7);
        nint start = PinnedAddressOf(memory) + 3;

        // The buffer's data length is a ushort: every value, the largest included, is a length.
        foreach (ushort length in (ushort[])[0, 1, 1500, ushort.MaxValue])
        {
            Span<byte> bytes = PinnedAddress.Span(start, length);
            Assert.Equal(length, bytes.Length);
            Assert.True(bytes.SequenceEqual(memory.AsSpan(3, length)));
            Assert.True(PinnedAddress.Span(start, (int)length).SequenceEqual(bytes));
        }
        // An int length is checked: a negative one is refused, not turned into a huge span.
        Assert.Throws<ArgumentOutOfRangeException>(() => PinnedAddress.Span(start, -1));
        GC.KeepAlive(memory);
    }

    private static unsafe nint PinnedAddressOf(byte[] pinned)
    {
        fixed (byte* p = pinned)
            return (nint)p;
    }
}
