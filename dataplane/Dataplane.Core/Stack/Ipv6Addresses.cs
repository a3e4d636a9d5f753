using Dataplane.Wire;

namespace Dataplane.Stack;

/// <summary>The IPv6 addresses and mappings neighbour discovery is built on (RFC 4291, RFC 2464).</summary>
internal static class Ipv6Addresses
{
    /// <summary>ff02::1, every node on the link.</summary>
    public static readonly Ipv6Address AllNodes = Parse("ff02::1");

    /// <summary>ff02::2, every router on the link.</summary>
    public static readonly Ipv6Address AllRouters = Parse("ff02::2");

    /// <summary>The Ethernet group address of an IPv6 multicast address (RFC 2464 7): 33:33 and its low 32 bits.</summary>
    public static MacAddress MulticastMac(in Ipv6Address group) => new(0x33, 0x33, group[12], group[13], group[14], group[15]);

    /// <summary>The Ethernet group address of an IPv4 multicast address (RFC 1112 6.4): 01:00:5e and its low 23 bits.</summary>
    public static MacAddress MulticastMac(Ipv4Address group)
    {
        uint g = group.ToUInt32();
        return new MacAddress(0x01, 0x00, 0x5E, (byte)((g >> 16) & 0x7F), (byte)(g >> 8), (byte)g);
    }

    /// <summary>True when the first <paramref name="prefixLength"/> bits of the two addresses are equal.</summary>
    public static bool SamePrefix(in Ipv6Address a, in Ipv6Address b, int prefixLength)
    {
        int full = prefixLength >> 3;
        for (int i = 0; i < full; i++)
        {
            if (a[i] != b[i])
                return false;
        }
        int rest = prefixLength & 7;
        if (rest == 0)
            return true;
        int mask = 0xFF << (8 - rest) & 0xFF;
        return ((a[full] ^ b[full]) & mask) == 0;
    }

    /// <summary>A usable unicast source: not multicast, not unspecified, not loopback.</summary>
    public static bool IsUnicast(in Ipv6Address address) => !address.IsMulticast && !address.IsUnspecified && !address.IsLoopback;

    private static Ipv6Address Parse(string text)
    {
        Ipv6Address.TryParse(text, out Ipv6Address address);
        return address;
    }
}
