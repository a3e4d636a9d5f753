namespace Dataplane.Config;

/// <summary>An address and a transport port, written ADDRESS:PORT or [ADDRESS]:PORT for IPv6.</summary>
/// <param name="Address">The IPv4 or IPv6 address; unspecified means every local address.</param>
/// <param name="Port">The port, 1 to 65535.</param>
internal readonly record struct IpEndpoint(IpAddress Address, int Port)
{
    /// <summary>The config form: 10.10.11.2:5201 or [fdd7::2]:5201.</summary>
    public override string ToString() => Address.Family == IpFamily.Inet ? $"{Address}:{Port}" : $"[{Address}]:{Port}";
}
