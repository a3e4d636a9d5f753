using System.Text;

namespace Dataplane.Native.Tests.Support;

/// <summary>
/// What the root-only tests need from the machine: root, iproute2, /dev/net/tun; unique interface and
/// namespace names (<c>dpn</c> + this process id + a counter, so parallel tests and parallel runs do
/// not collide); and a way to run <c>ip</c> and read <c>/sys</c>, the lab library's
/// (<see cref="NetnsLab"/>). Every test removes what it made.
/// </summary>
internal static class Lab
{
    /// <summary>The prefix of every name these tests give.</summary>
    public static readonly string Stem = $"dpn{Environment.ProcessId}";

    private static readonly Lazy<string?> s_skipReason = new(CannotRunBecause);

    /// <summary>Skips the calling <c>[SkippableFact]</c> unless this is Linux, as root, with ip and /dev/net/tun.</summary>
    public static void RequireRoot() => Skip.If(s_skipReason.Value is not null, s_skipReason.Value);

    /// <summary>Skips the calling <c>[SkippableFact]</c> unless this is Linux.</summary>
    public static void RequireLinux() => Skip.IfNot(OperatingSystem.IsLinux(), "needs Linux");

    /// <summary>A fresh interface name of at most 15 bytes: <c>dpn&lt;pid&gt;&lt;kind&gt;&lt;n&gt;</c>.</summary>
    public static string UniqueName(char kind) => NetnsLab.UniqueName(Stem, kind);

    /// <summary>Runs <c>ip ARGS</c>; throws with its output if it fails.</summary>
    public static string Ip(params string[] args) => Run("ip", args);

    /// <summary>Runs a command (bounded); throws with its output if it fails.</summary>
    public static string Run(string file, params string[] args) => NetnsLab.Run(file, args);

    /// <summary>Runs <c>ip ARGS</c> and ignores a failure: for clean-up in finally blocks.</summary>
    public static void IpQuietly(params string[] args) => NetnsLab.Quietly("ip", args);

    /// <summary>
    /// Turns IPv6 off on <paramref name="name"/> before it goes up, so the kernel sends no router
    /// solicitations or MLD reports of its own: the only traffic on it is the test's.
    /// </summary>
    public static void DisableIpv6(string name)
    {
        string path = $"/proc/sys/net/ipv6/conf/{name}/disable_ipv6";
        if (File.Exists(path))
            File.WriteAllText(path, "1");
    }

    /// <summary>A <c>/sys/class/net/NAME/ATTRIBUTE</c> file of this namespace, trimmed.</summary>
    public static string ReadSys(string name, string attribute) =>
        File.ReadAllText($"/sys/class/net/{name}/{attribute}").Trim();

    /// <summary>A hex number as /sys prints it (<c>0x1103</c>).</summary>
    public static int ParseHex(string text) =>
        Convert.ToInt32(text.StartsWith("0x", StringComparison.Ordinal) ? text[2..] : text, 16);

    private static string? CannotRunBecause()
    {
        if (!OperatingSystem.IsLinux())
            return "needs Linux";
        if (Tmds.Linux.LibC.geteuid() != 0)
            return "needs root (CAP_NET_ADMIN, CAP_NET_RAW) to create interfaces and open packet sockets";
        if (!File.Exists(Tun.CloneDevice))
            return $"{Tun.CloneDevice} is missing (no tun module)";
        return NetnsLab.Missing("ip") is null ? null : "ip (iproute2) is not installed: ./build.sh deps";
    }

    /// <summary>The bytes as hex pairs, for assertion messages.</summary>
    public static string Hex(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length * 3);
        foreach (byte b in bytes)
            text.Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)).Append(' ');
        return text.ToString().TrimEnd();
    }
}
