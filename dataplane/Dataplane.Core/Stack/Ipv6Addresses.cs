using Dataplane.Wire;

namespace Dataplane.Stack;

/// <summary>The IPv6 addresses and mappings neighbour discovery is built on (RFC 4291, RFC 2464).</summary>
internal static class Ipv6Addresses
{
    /// <summary>ff02::1, every node on the link.</summary>
    public static readonly Ipv6Address AllNodes = Parse("ff02::1");

    /// <summary>ff02::2, every router on the link.</summary>
    public static readonly Ipv6Address AllRouters = Parse("ff02::2");

    /// <summary>The solicited-node group of <paramref name="address"/> (RFC 4291 2.7.1): ff02::1:ff and its low 24 bits.</summary>
    public static Ipv6Address SolicitedNode(in Ipv6Address address)
    {
        Span<byte> b = stackalloc byte[Ipv6Address.Length];
        b.Clear();
        b[0] = 0xFF;
        b[1] = 0x02;
        b[11] = 0x01;
        b[12] = 0xFF;
        b[13] = address[13];
        b[14] = address[14];
        b[15] = address[15];
        return new Ipv6Address(b);
    }

    /// <summary>fe80::/64 with the modified EUI-64 interface identifier of <paramref name="mac"/> (RFC 4291 appendix A).</summary>
    public static Ipv6Address LinkLocalFromMac(MacAddress mac)
    {
        Span<byte> m = stackalloc byte[MacAddress.Length];
        mac.CopyTo(m);
        Span<byte> b = stackalloc byte[Ipv6Address.Length];
        b.Clear();
        b[0] = 0xFE;
        b[1] = 0x80;
        b[8] = (byte)(m[0] ^ 0x02); // the universal/local bit, inverted
        b[9] = m[1];
        b[10] = m[2];
        b[11] = 0xFF;
        b[12] = 0xFE;
        b[13] = m[3];
        b[14] = m[4];
        b[15] = m[5];
        return new Ipv6Address(b);
    }

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
