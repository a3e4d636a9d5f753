namespace Dataplane.Native.Tests.Memory;

[Trait("Category", "Linux")]
public class HugePagesTests
{
    [SkippableFact]
    public void Allocate_gets_huge_pages_when_reserved_and_falls_back_to_normal_pages_otherwise()
    {
        Support.Lab.RequireLinux();
        bool hugeAvailable = HugePages.FreeCount() > 0;
        using PinnedMemory memory = HugePages.Allocate(100_000);
        if (hugeAvailable)
        {
            Assert.Equal(PageKind.HugePages, memory.Pages);
            Assert.Equal((nuint)HugePages.Size, memory.Length);
        }
        else
        {
            // No huge page reserved (HugePages_Free: 0): MAP_HUGETLB fails, normal pages do.
            Assert.Equal(PageKind.NormalPages, memory.Pages);
            Assert.Equal((nuint)(100_000 + HugePages.NormalPageSize - 1) / (nuint)HugePages.NormalPageSize * (nuint)HugePages.NormalPageSize, memory.Length);
        }
    }

    [SkippableFact]
    public unsafe void The_memory_is_zeroed_writable_and_stays_at_its_address()
    {
        Support.Lab.RequireLinux();
        using PinnedMemory memory = HugePages.Allocate(64 * 1024);
        byte* before = memory.Pointer;
        Span<byte> span = memory.Span;
        Assert.Equal((int)memory.Length, span.Length);
        Assert.True(span.IndexOfAnyExcept((byte)0) < 0);
        span.Fill(0xa5);
        GC.Collect();
        Assert.True(before == memory.Pointer);
        Assert.Equal(0xa5, memory.Pointer[memory.Length - 1]);
    }

    [SkippableFact]
    public void Root_gets_the_memory_locked()
    {
        Support.Lab.RequireRoot();
        using PinnedMemory memory = HugePages.Allocate(4096);
        Assert.True(memory.Locked);
        using PinnedMemory unlocked = HugePages.Allocate(4096, lockMemory: false);
        Assert.False(unlocked.Locked);
    }

    [SkippableFact]
    public void Slice_is_bounds_checked()
    {
        Support.Lab.RequireLinux();
        using PinnedMemory memory = HugePages.Allocate(4096);
        Assert.Equal(16, memory.Slice(memory.Length - 16, 16).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => memory.Slice(memory.Length - 16, 17));
        Assert.Throws<ArgumentOutOfRangeException>(() => memory.Slice(memory.Length + 1, 0));
    }

    [SkippableFact]
    public void Dispose_unmaps_once_and_later_use_throws()
    {
        Support.Lab.RequireLinux();
        PinnedMemory memory = HugePages.Allocate(4096);
        memory.Dispose();
        memory.Dispose();
        Assert.Throws<ObjectDisposedException>(() => memory.Span.Length);
    }

    [Fact]
    public void Zero_bytes_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => HugePages.Allocate(0));
    }
}
