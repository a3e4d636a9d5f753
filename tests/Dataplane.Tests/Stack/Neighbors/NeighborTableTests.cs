using Dataplane.Buffers;
using Dataplane.Stack;
using Dataplane.Stack.Ip;
using Dataplane.Stack.Neighbors;
using Dataplane.Wire;

namespace Dataplane.Tests.Stack.Neighbors;

public class NeighborTableTests
{
    private static Ipv4Address V4(int i) => Ipv4Address.FromUInt32(0x0A000000u | (uint)i);

    [Fact]
    public void Finds_every_neighbour_of_a_full_table_and_refuses_one_more()
    {
        var table = new NeighborTable<Ipv4Address>();
        for (int i = 0; i < NeighborTable<Ipv4Address>.MaxEntries; i++)
            Assert.NotNull(table.GetOrAdd(V4(i)));
        Assert.Null(table.GetOrAdd(V4(NeighborTable<Ipv4Address>.MaxEntries)));
        for (int i = 0; i < NeighborTable<Ipv4Address>.MaxEntries; i++)
            Assert.True(table.TryGet(V4(i), out NeighborEntry<Ipv4Address> e) && e.Address == V4(i));
        Assert.False(table.TryGet(V4(NeighborTable<Ipv4Address>.MaxEntries), out _));
        Assert.Equal(NeighborTable<Ipv4Address>.MaxEntries, table.Count);
    }

    [Fact]
    public void A_removed_neighbour_is_gone_and_the_others_are_still_found_past_its_slot()
    {
        var table = new NeighborTable<Ipv6Address>();
        var entries = new List<NeighborEntry<Ipv6Address>>();
        for (int i = 0; i < 200; i++)
            entries.Add(table.GetOrAdd(V6(i))!);
        for (int i = 0; i < 200; i += 2)
            table.Remove(entries[i], []);
        for (int i = 0; i < 200; i++)
        {
            bool found = table.TryGet(V6(i), out NeighborEntry<Ipv6Address> e);
            Assert.Equal(i % 2 == 1, found);
            if (found)
                Assert.Same(entries[i], e);
            else
                Assert.True(entries[i].IsDead);
        }
        Assert.Equal(100, table.Count);
    }

    [Fact]
    public void Churn_of_adds_and_removes_keeps_every_live_entry_findable()
    {
        // Tombstones are reused and the array rebuilt; a model dictionary says what must be there.
        var table = new NeighborTable<Ipv4Address>();
        var model = new Dictionary<Ipv4Address, NeighborEntry<Ipv4Address>>();
        var random = new Random(11);
        for (int step = 0; step < 20_000; step++)
        {
            Ipv4Address a = V4(random.Next(300));
            if (model.TryGetValue(a, out NeighborEntry<Ipv4Address>? e) && random.Next(2) == 0)
            {
                table.Remove(e, []);
                model.Remove(a);
            }
            else
            {
                NeighborEntry<Ipv4Address> added = table.GetOrAdd(a)!;
                Assert.Same(model.TryGetValue(a, out e) ? e : added, added);
                model[a] = added;
            }
        }
        for (int i = 0; i < 300; i++)
        {
            Assert.Equal(model.TryGetValue(V4(i), out NeighborEntry<Ipv4Address>? e), table.TryGet(V4(i), out NeighborEntry<Ipv4Address> found));
            if (e is not null)
                Assert.Same(e, found);
        }
        Assert.Equal(model.Count, table.Count);
    }

    [Fact]
    public void A_lookup_allocates_nothing()
    {
        var table = new NeighborTable<Ipv4Address>();
        for (int i = 0; i < 64; i++)
            table.GetOrAdd(V4(i))!.Confirm(new MacAddress(2, 0, 0, 0, 0, (byte)i), 1);
        long found = 0;
        long bytes = Allocations.Least(3, () =>
        {
            for (int i = 0; i < 10_240; i++)
                found += table.TryGet(V4(i & 127), out NeighborEntry<Ipv4Address> e) && e.HasMac ? 1 : 0;
        });
        Assert.Equal(0, bytes);
        Assert.Equal(4 * 5_120, found); // half the addresses are known, in each of the four runs
    }

    private static Ipv6Address V6(int i)
    {
        Span<byte> b = stackalloc byte[16];
        b[0] = 0xFD;
        b[14] = (byte)(i >> 8);
        b[15] = (byte)i;
        return new Ipv6Address(b);
    }
}

public class LocalAddressesTests
{
    private static Ipv4Address A(string s) => Ipv4Address.TryParse(s, out Ipv4Address a) ? a : throw new FormatException(s);

    private static Ipv6Address A6(string s) => Ipv6Address.TryParse(s, out Ipv6Address a) ? a : throw new FormatException(s);

    [Fact]
    public void Tells_our_addresses_and_directed_broadcasts_from_the_rest_in_one_lookup()
    {
        var interfaces = new[]
        {
            new NetInterface(0, "p0", new MacAddress(2, 0, 0, 0, 0, 1), 1500, default, [new(A("10.1.0.1"), 24), new(A("10.2.0.1"), 31)], []),
            new NetInterface(1, "p1", new MacAddress(2, 0, 0, 0, 0, 2), 1500, default, [new(A("10.3.0.1"), 16)], []),
        };
        var local = new LocalAddresses(interfaces);
        Assert.Equal(LocalKind4.Address, local.Find(A("10.1.0.1")));
        Assert.Equal(LocalKind4.Address, local.Find(A("10.2.0.1")));
        Assert.Equal(LocalKind4.Address, local.Find(A("10.3.0.1")));
        Assert.Equal(LocalKind4.Broadcast, local.Find(A("10.1.0.255")));
        Assert.Equal(LocalKind4.Broadcast, local.Find(A("10.3.255.255")));
        Assert.Equal(LocalKind4.None, local.Find(A("10.2.0.0"))); // a /31 has no broadcast (RFC 3021)
        Assert.Equal(LocalKind4.None, local.Find(A("10.1.0.2")));
        Assert.Equal(LocalKind4.None, local.Find(A("10.1.1.255")));
        for (uint i = 0; i < 100_000; i++)
        {
            Ipv4Address other = Ipv4Address.FromUInt32(0x0B000000u + i * 7919);
            Assert.Equal(LocalKind4.None, local.Find(other));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(40)] // the 64-bit filter in front of the table full, or nearly: every question goes to the table
    [InlineData(300)]
    public void Finds_every_address_of_many_interfaces_and_nothing_else(int count)
    {
        var interfaces = new NetInterface[count];
        for (int i = 0; i < count; i++)
        {
            interfaces[i] = new NetInterface(i, $"p{i}", new MacAddress(2, 0, 0, 0, (byte)(i >> 8), (byte)i), 1500, default,
                [new(Ipv4Address.FromUInt32(0x0A000001u + ((uint)i << 8)), 24)],
                [new(A6($"fd00:{i:x}::1"), 64)]);
        }
        var local = new LocalAddresses(interfaces);
        for (int i = 0; i < count; i++)
        {
            uint network = 0x0A000000u + ((uint)i << 8);
            Assert.Equal(LocalKind4.Address, local.Find(Ipv4Address.FromUInt32(network + 1)));
            Assert.Equal(LocalKind4.Broadcast, local.Find(Ipv4Address.FromUInt32(network + 255)));
            Assert.Equal(LocalKind4.None, local.Find(Ipv4Address.FromUInt32(network + 2)));
            Assert.Same(interfaces[i].Ipv6[1], local.Find(A6($"fd00:{i:x}::1")));
            Assert.Same(interfaces[i].LinkLocal, local.Find(interfaces[i].LinkLocal.Address));
            Assert.Null(local.Find(A6($"fd00:{i:x}::2")));
        }
        for (uint i = 0; i < 20_000; i++)
            Assert.Equal(LocalKind4.None, local.Find(Ipv4Address.FromUInt32(0xC6336400u + i * 7919)));
    }

    [Fact]
    public void Finds_each_ipv6_address_with_its_state()
    {
        var global = new InterfaceAddress6(A6("fd00:1::1"), 64);
        var nic = new NetInterface(0, "p0", new MacAddress(2, 0, 0, 0, 0, 1), 1500, default, [], [global]);
        var local = new LocalAddresses([nic]);
        Assert.Same(global, local.Find(A6("fd00:1::1")));
        Assert.Same(nic.LinkLocal, local.Find(nic.LinkLocal.Address));
        Assert.Null(local.Find(A6("fd00:1::2")));
    }
}
