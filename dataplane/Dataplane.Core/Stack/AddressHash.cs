using System.Runtime.CompilerServices;
using Dataplane.Wire;

namespace Dataplane.Stack;

/// <summary>Where an address starts its probe in the stack's open-addressed tables.</summary>
internal static class AddressHash
{
    /// <summary>
    /// The slot of <paramref name="address"/> in a table of <paramref name="mask"/> + 1 slots: the
    /// address's own hash, mixed (Chris Wellons' lowbias32) so that the addresses of one subnet,
    /// which differ in an octet that may sit in the hash's top bits, spread over the bits the mask keeps.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Home<TAddress>(in TAddress address, int mask) where TAddress : struct, IEquatable<TAddress>
    {
        // An IPv6 address is folded to 32 bits here rather than through its GetHashCode
        // (HashCode.Combine, several times the cost, and the IPv6 input asks twice a packet).
        // typeof(TAddress) is a constant in each instantiation: one of the two lines is compiled.
        uint h;
        if (typeof(TAddress) == typeof(Ipv6Address))
        {
            UInt128 bits = Unsafe.As<TAddress, UInt128>(ref Unsafe.AsRef(in address));
            ulong folded = (ulong)bits ^ (ulong)(bits >> 64);
            h = (uint)folded ^ (uint)(folded >> 32);
        }
        else
        {
            h = (uint)address.GetHashCode();
        }
        h ^= h >> 16;
        h *= 0x7FEB352Du;
        h ^= h >> 15;
        h *= 0x846CA68Bu;
        h ^= h >> 16;
        return (int)h & mask;
    }
}
