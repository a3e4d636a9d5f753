using System.Globalization;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;

namespace Dataplane.Packetdrill;

/// <summary>
/// What packetdrill's <c>--so_flags</c> string sets: <c>key=value</c> words, separated by spaces or
/// commas. The addresses must agree with packetdrill's own (<c>--local_ip</c>, <c>--gateway_ip</c>):
/// packetdrill writes them into the packets and the socket addresses, and its default local address
/// is a random one of 192.168.0.0/16, which a library cannot guess.
/// </summary>
internal sealed record LibraryOptions
{
    /// <summary>The stack's IPv4 address (packetdrill <c>--local_ip</c> for IPv4 scripts).</summary>
    public Ipv4Address LocalIp { get; init; } = new(192, 168, 0, 2);

    /// <summary>The stack's IPv6 address (packetdrill <c>--local_ip</c> for IPv6 scripts).</summary>
    public Ipv6Address LocalIp6 { get; init; } = Parse6("fd3d:fa7b:d17d::2");

    /// <summary>The IPv4 next hop of every route: packetdrill's default gateway.</summary>
    public Ipv4Address GatewayIp { get; init; } = new(192, 168, 0, 1);

    /// <summary>The IPv6 next hop of every route: packetdrill's default IPv6 gateway.</summary>
    public Ipv6Address GatewayIp6 { get; init; } = Parse6("fd3d:fa7b:d17d:8888::");

    /// <summary>The interface's IP MTU (packetdrill's tun device has 1500).</summary>
    public int Mtu { get; init; } = 1500;

    /// <summary>Each connection's send and receive buffer (<c>set tcp buffer</c>); it sets the window scale the SYN offers.</summary>
    public int TcpBuffer { get; init; } = TcpSocketTable.DefaultBuffer;

    /// <summary>Parses the flags; null and <paramref name="error"/> set for a word it does not know or a bad value.</summary>
    public static LibraryOptions? Parse(string? flags, out string? error)
    {
        error = null;
        var options = new LibraryOptions();
        if (string.IsNullOrWhiteSpace(flags))
            return options;
        foreach (string word in flags.Split([' ', ',', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            int equals = word.IndexOf('=', StringComparison.Ordinal);
            string key = equals < 0 ? word : word[..equals];
            string value = equals < 0 ? "" : word[(equals + 1)..];
            bool ok;
            switch (key)
            {
                case "local_ip" when Ipv4Address.TryParse(value, out Ipv4Address a):
                    options = options with { LocalIp = a };
                    ok = true;
                    break;
                case "local_ip" when Ipv6Address.TryParse(value, out Ipv6Address a6):
                    options = options with { LocalIp6 = a6 };
                    ok = true;
                    break;
                case "gateway_ip" when Ipv4Address.TryParse(value, out Ipv4Address g):
                    options = options with { GatewayIp = g };
                    ok = true;
                    break;
                case "gateway_ip" when Ipv6Address.TryParse(value, out Ipv6Address g6):
                    options = options with { GatewayIp6 = g6 };
                    ok = true;
                    break;
                case "mtu" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int mtu) && mtu is >= 1280 and <= 9000:
                    options = options with { Mtu = mtu };
                    ok = true;
                    break;
                case "tcp_buffer" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int bytes) && bytes is >= 4096 and <= 1 << 30:
                    options = options with { TcpBuffer = bytes };
                    ok = true;
                    break;
                default:
                    ok = false;
                    break;
            }
            if (!ok)
            {
                error = $"--so_flags: '{word}' is not one of local_ip=ADDRESS, gateway_ip=ADDRESS (IPv4 or IPv6), mtu=1280..9000, tcp_buffer=BYTES";
                return null;
            }
        }
        return options;
    }

    private static Ipv6Address Parse6(string text) => Ipv6Address.TryParse(text, out Ipv6Address a) ? a : throw new FormatException(text);
}
