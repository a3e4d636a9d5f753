namespace Dataplane.Config;

/// <summary>An address with a prefix length, as in 10.10.11.2/24 or fdd7:1::/48.</summary>
/// <param name="Address">The address as written, host bits included.</param>
/// <param name="Length">The prefix length: 0 to 32 for IPv4, 0 to 128 for IPv6.</param>
internal readonly record struct IpPrefix(IpAddress Address, int Length)
{
    /// <summary>The family of <see cref="Address"/>.</summary>
    public IpFamily Family => Address.Family;

    /// <summary>True for 0.0.0.0/0 and ::/0.</summary>
    public bool IsDefault => Length == 0;

    /// <summary>The address with every bit past <see cref="Length"/> cleared.</summary>
    public IpAddress Network => Mask(Address, Length);

    /// <summary>True when <see cref="Address"/> has bits set past <see cref="Length"/>.</summary>
    public bool HasHostBits => Network != Address;

    /// <summary>The network this prefix names, host bits cleared.</summary>
    public IpPrefix ToNetwork() => new(Network, Length);

    /// <summary>The default route destination of <paramref name="family"/>: 0.0.0.0/0 or ::/0.</summary>
    public static IpPrefix Default(IpFamily family) => new(IpAddress.Unspecified(family), 0);

    /// <summary>True when <paramref name="address"/> is of the same family and inside the prefix.</summary>
    public bool Contains(IpAddress address) => address.Family == Family && Mask(address, Length) == Network;

    /// <summary>ADDRESS/LENGTH.</summary>
    public override string ToString() => $"{Address}/{Length}";

    private static IpAddress Mask(IpAddress address, int length)
    {
        Span<byte> b = stackalloc byte[16];
        int bytes = address.BitLength / 8;
        b = b[..bytes];
        address.CopyTo(b);
        for (int i = 0; i < bytes; i++)
        {
            int keep = Math.Clamp(length - i * 8, 0, 8);
            b[i] &= (byte)(0xFF00 >> keep);
        }
        return IpAddress.FromBytes(address.Family, b);
    }
}
