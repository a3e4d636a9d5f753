using Dataplane.Engine;
using Dataplane.Wire;

namespace Dataplane.Tests.Engine.Flow;

/// <summary>The indirection table: which worker owns a hash, as a NIC would pick the queue.</summary>
public class RssIndirectionTableTests
{
    [Fact]
    public void The_default_table_has_128_entries_filled_round_robin()
    {
        var table = new RssIndirectionTable(3);
        Assert.Equal(128, table.Size);
        Assert.Equal(3, table.WorkerCount);
        for (int i = 0; i < 128; i++)
            Assert.Equal(i % 3, table.Entries[i]);
    }

    [Fact]
    public void The_low_seven_bits_of_the_hash_pick_the_entry()
    {
        var table = new RssIndirectionTable(5);
        for (uint i = 0; i < 128; i++)
        {
            Assert.Equal(table.Entries[(int)i], table.OwnerOf(i));
            Assert.Equal(table.Entries[(int)i], table.OwnerOf(0xABCDEF80 | i));
            Assert.Equal(table.Entries[(int)i], table.OwnerOf(0xFFFFFF00 | i));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(16)]
    public void Every_worker_gets_an_equal_share_of_entries_within_one(int workers)
    {
        var table = new RssIndirectionTable(workers);
        int[] shares = new int[workers];
        foreach (ushort w in table.Entries)
            shares[w]++;
        Assert.True(shares.Max() - shares.Min() <= 1);
    }

    [Fact]
    public void Flows_hashed_with_the_Microsoft_key_spread_evenly_over_four_workers()
    {
        var toeplitz = ToeplitzHash.CreateMicrosoft();
        var table = new RssIndirectionTable(4);
        var random = new Random(1234);
        int[] flows = new int[4];
        const int FlowCount = 20_000;
        for (int i = 0; i < FlowCount; i++)
        {
            var key = FlowKey.Ipv4(Ipv4Address.FromUInt32(0x0A000000u | (uint)random.Next(1 << 24)), Ipv4Address.FromUInt32(0xC0A80001),
                IpProtocol.Tcp, (ushort)random.Next(1024, 65536), 443);
            flows[table.OwnerOf(key.Hash(toeplitz))]++;
        }
        foreach (int n in flows)
            Assert.InRange(n, FlowCount / 4 * 9 / 10, FlowCount / 4 * 11 / 10);
    }

    [Fact]
    public void With_the_symmetric_key_both_directions_have_one_owner()
    {
        var toeplitz = ToeplitzHash.CreateSymmetric();
        var table = new RssIndirectionTable(6);
        var random = new Random(99);
        for (int i = 0; i < 1000; i++)
        {
            var key = FlowKey.Ipv6(ToeplitzHashTests.RandomV6(random), ToeplitzHashTests.RandomV6(random), IpProtocol.Udp,
                (ushort)random.Next(65536), (ushort)random.Next(65536));
            Assert.Equal(table.OwnerOf(key.Hash(toeplitz)), table.OwnerOf(key.Reversed().Hash(toeplitz)));
        }
    }

    [Fact]
    public void Setting_an_entry_moves_its_slice_of_hashes_to_another_worker()
    {
        var table = new RssIndirectionTable(2);
        Assert.Equal(1, table.OwnerOf(0x1005));
        table.SetEntry(5, 0);
        Assert.Equal(0, table.OwnerOf(0x1005));
        Assert.Equal(0, table.OwnerOf(0x85));
        Assert.Equal(1, table.OwnerOf(0x1007));
    }

    [Fact]
    public void A_table_of_another_power_of_two_uses_as_many_bits()
    {
        var table = new RssIndirectionTable(4, size: 512);
        Assert.Equal(512, table.Size);
        Assert.Equal(table.Entries[0x1FF], table.OwnerOf(0xFFFFFFFF));
        Assert.Equal(0x1FF % 4, table.OwnerOf(0xFFFFFFFF));
    }

    [Theory]
    [InlineData(0, 128)]
    [InlineData(2, 0)]
    [InlineData(2, 100)]
    public void Impossible_tables_are_refused(int workers, int size)
        => Assert.Throws<ArgumentOutOfRangeException>(() => new RssIndirectionTable(workers, size));

    [Theory]
    [InlineData(128, 0)]
    [InlineData(-1, 0)]
    [InlineData(0, 2)]
    public void Entries_and_workers_out_of_range_are_refused(int index, int worker)
        => Assert.Throws<ArgumentOutOfRangeException>(() => new RssIndirectionTable(2).SetEntry(index, worker));
}
