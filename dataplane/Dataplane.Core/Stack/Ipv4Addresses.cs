using System.Runtime.CompilerServices;
using Dataplane.Wire;

namespace Dataplane.Stack;

/// <summary>What RFC 1812 and RFC 6890 say of IPv4 addresses on a wire.</summary>
internal static class Ipv4Addresses
{
    /// <summary>
    /// True for an IPv4 source no packet may come from (RFC 1812 5.3.7, RFC 6890): this network
    /// (0/8), loopback (127/8), multicast, and the reserved 240/4 with the limited broadcast.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // per forwarded packet; AOT has no profile to say so
    public static bool IsMartian(Ipv4Address address)
    {
        uint first = address.ToUInt32() >> 24;
        return first == 0 || first == 127 || first >= 224;
    }
}
