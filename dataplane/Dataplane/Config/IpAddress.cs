using Dataplane.Wire;

namespace Dataplane.Config;

/// <summary>The address family of a config statement, named as ifconfig and route name them.</summary>
internal enum IpFamily
{
    /// <summary>IPv4.</summary>
    Inet,

    /// <summary>IPv6.</summary>
    Inet6,
}

/// <summary>An IPv4 or an IPv6 address: config statements such as routes and apps take either.</summary>
internal readonly record struct IpAddress
{
    /// <summary>Wraps an IPv4 address.</summary>
    public IpAddress(Ipv4Address v4)
    {
        Family = IpFamily.Inet;
        V4 = v4;
    }

    /// <summary>Wraps an IPv6 address.</summary>
    public IpAddress(Ipv6Address v6)
    {
        Family = IpFamily.Inet6;
        V6 = v6;
    }

    /// <summary>Which of <see cref="V4"/> and <see cref="V6"/> holds the address.</summary>
    public IpFamily Family { get; }

    /// <summary>The address when <see cref="Family"/> is inet.</summary>
    public Ipv4Address V4 { get; }

    /// <summary>The address when <see cref="Family"/> is inet6.</summary>
    public Ipv6Address V6 { get; }

    /// <summary>32 or 128: the longest prefix of the family.</summary>
    public int BitLength => Family == IpFamily.Inet ? 32 : 128;

    /// <summary>0.0.0.0 or ::.</summary>
    public bool IsUnspecified => Family == IpFamily.Inet ? V4.IsUnspecified : V6.IsUnspecified;

    /// <summary>224.0.0.0/4 or ff00::/8.</summary>
    public bool IsMulticast => Family == IpFamily.Inet ? V4.IsMulticast : V6.IsMulticast;

    /// <summary>255.255.255.255; IPv6 has no broadcast.</summary>
    public bool IsBroadcast => Family == IpFamily.Inet && V4.IsBroadcast;

    /// <summary>The unspecified address of <paramref name="family"/>: 0.0.0.0 or ::.</summary>
    public static IpAddress Unspecified(IpFamily family) => family == IpFamily.Inet ? new(Ipv4Address.Any) : new(Ipv6Address.Any);

    /// <summary>Parses dotted-quad IPv4 or RFC 4291 IPv6 text.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out IpAddress address)
    {
        if (text.Contains(':'))
        {
            bool ok = Ipv6Address.TryParse(text, out Ipv6Address v6);
            address = new IpAddress(v6);
            return ok;
        }
        bool ok4 = Ipv4Address.TryParse(text, out Ipv4Address v4);
        address = new IpAddress(v4);
        return ok4;
    }

    /// <summary>Writes the address in wire order: 4 or 16 bytes.</summary>
    public void CopyTo(Span<byte> destination)
    {
        if (Family == IpFamily.Inet)
            V4.CopyTo(destination);
        else
            V6.CopyTo(destination);
    }

    /// <summary>Builds an address of <paramref name="family"/> from its bytes in wire order.</summary>
    public static IpAddress FromBytes(IpFamily family, ReadOnlySpan<byte> source)
        => family == IpFamily.Inet ? new(new Ipv4Address(source)) : new(new Ipv6Address(source));

    /// <summary>Dotted-quad or RFC 5952 text.</summary>
    public override string ToString() => Family == IpFamily.Inet ? V4.ToString() : V6.ToString();
}

/// <summary>Names of the address families as the config and messages write them.</summary>
internal static class IpFamilyNames
{
    /// <summary>"inet" or "inet6", the statement keyword of the family.</summary>
    public static string Keyword(this IpFamily family) => family == IpFamily.Inet ? "inet" : "inet6";

    /// <summary>"IPv4" or "IPv6".</summary>
    public static string Protocol(this IpFamily family) => family == IpFamily.Inet ? "IPv4" : "IPv6";
}
