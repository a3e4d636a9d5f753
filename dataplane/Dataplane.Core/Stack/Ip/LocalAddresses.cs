using System.Runtime.CompilerServices;
using Dataplane.Wire;

namespace Dataplane.Stack.Ip;

/// <summary>What the stack's own addresses make of an IPv4 address.</summary>
[Flags]
internal enum LocalKind4 : byte
{
    /// <summary>Not one of ours.</summary>
    None = 0,

    /// <summary>An address of one of the interfaces (the weak host model of RFC 1122 3.3.4.2: any interface's address is ours).</summary>
    Address = 1,

    /// <summary>The directed broadcast of one of the interfaces' prefixes (which one, the interface says).</summary>
    Broadcast = 2,
}

/// <summary>
/// "Is this for us" in one lookup: every address of every interface, and every directed broadcast,
/// in an open-addressed table built once from the interfaces (their address lists do not change
/// while the workers run) and read by every worker without a lock or a write.
/// </summary>
/// <remarks>
/// A forwarded packet asks twice (its source, its destination) and the answer is almost always
/// no: a 64-bit filter of the table's keys (one bit each, a Bloom filter of one hash) answers most
/// of those noes with a multiply and a test, where the table's probe costs its hash and a load.
/// With a few dozen keys the filter fills up and every question goes to the table, as before.
/// </remarks>
internal sealed class LocalAddresses
{
    private readonly Slot<Ipv4Address, LocalKind4>[] _v4;
    private readonly Slot<Ipv6Address, InterfaceAddress6>[] _v6;
    private readonly ulong _v4Filter;
    private readonly ulong _v6Filter;

    private struct Slot<TKey, TValue>
    {
        public TKey Key;
        public TValue Value;
        public bool Used;
    }

    /// <summary>The table of <paramref name="interfaces"/>' addresses.</summary>
    public LocalAddresses(IReadOnlyList<NetInterface> interfaces)
    {
        var v4 = new List<(Ipv4Address, LocalKind4)>();
        var v6 = new List<(Ipv6Address, InterfaceAddress6)>();
        foreach (NetInterface iface in interfaces)
        {
            foreach (InterfaceAddress4 a in iface.Ipv4)
            {
                v4.Add((a.Address, LocalKind4.Address));
                if (a.PrefixLength < 31)
                    v4.Add((a.Broadcast, LocalKind4.Broadcast));
            }
            foreach (InterfaceAddress6 a in iface.Ipv6)
                v6.Add((a.Address, a));
        }
        _v4 = Build(v4, (old, added) => old | added);
        foreach ((Ipv4Address address, _) in v4)
            _v4Filter |= FilterBit(address);
        foreach ((Ipv6Address address, _) in v6)
            _v6Filter |= FilterBit(address);
        // Two interfaces with one IPv6 address (not the case today: a link-local address is per
        // link): the first interface's answers, usable or not, where the old scan went on to a
        // usable one on a later interface.
        _v6 = Build(v6, (old, _) => old);
    }

    /// <summary>What <paramref name="address"/> is to this host.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public LocalKind4 Find(Ipv4Address address)
    {
        if ((_v4Filter & FilterBit(address)) == 0)
            return LocalKind4.None;
        Slot<Ipv4Address, LocalKind4>[] slots = _v4;
        int mask = slots.Length - 1;
        for (int i = AddressHash.Home(address, mask); slots[i].Used; i = (i + 1) & mask)
        {
            if (slots[i].Key == address)
                return slots[i].Value;
        }
        return LocalKind4.None;
    }

    /// <summary>True when <paramref name="address"/> is an address of one of the interfaces.</summary>
    public bool IsOurs(Ipv4Address address) => (Find(address) & LocalKind4.Address) != 0;

    /// <summary>Our IPv6 address equal to <paramref name="address"/>, on any interface, usable or not; null when none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public InterfaceAddress6? Find(in Ipv6Address address)
    {
        if ((_v6Filter & FilterBit(address)) == 0)
            return null;
        Slot<Ipv6Address, InterfaceAddress6>[] slots = _v6;
        int mask = slots.Length - 1;
        for (int i = AddressHash.Home(address, mask); slots[i].Used; i = (i + 1) & mask)
        {
            if (slots[i].Key == address)
                return slots[i].Value;
        }
        return null;
    }

    /// <summary>The filter's bit for <paramref name="address"/>: the top 6 bits of a Fibonacci hash of its 32 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong FilterBit(Ipv4Address address) => 1UL << (int)((address.ToUInt32() * 0x9E3779B1u) >> 26);

    /// <summary>The filter's bit for <paramref name="address"/>: its 128 bits folded to 64, then as for IPv4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong FilterBit(in Ipv6Address address)
    {
        UInt128 bits = Unsafe.ReadUnaligned<UInt128>(ref Unsafe.As<Ipv6Address, byte>(ref Unsafe.AsRef(in address)));
        ulong folded = (ulong)bits ^ (ulong)(bits >> 64);
        return 1UL << (int)((folded * 0x9E3779B97F4A7C15ul) >> 58);
    }

    private static Slot<TKey, TValue>[] Build<TKey, TValue>(List<(TKey Key, TValue Value)> entries, Func<TValue, TValue, TValue> merge)
        where TKey : struct, IEquatable<TKey>
    {
        int length = 8;
        while (length < entries.Count * 4)
            length *= 2;
        var slots = new Slot<TKey, TValue>[length];
        int mask = length - 1;
        foreach ((TKey key, TValue value) in entries)
        {
            int i = AddressHash.Home(key, mask);
            while (slots[i].Used && !slots[i].Key.Equals(key))
                i = (i + 1) & mask;
            slots[i].Value = slots[i].Used ? merge(slots[i].Value, value) : value;
            slots[i].Key = key;
            slots[i].Used = true;
        }
        return slots;
    }
}
