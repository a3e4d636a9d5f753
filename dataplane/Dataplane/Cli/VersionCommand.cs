using System.Reflection;
using System.Runtime.InteropServices;

namespace Dataplane.Cli;

/// <summary><c>dataplane version</c>: the version, the runtime and the platform.</summary>
internal static class VersionCommand
{
    /// <summary>The command's name.</summary>
    public const string Name = "version";

    /// <summary>The line of the top-level help.</summary>
    public const string Summary = "print the version, the .NET runtime and the OS and architecture";

    /// <summary>The full help of the command.</summary>
    public static string Help => $"""
        usage: dataplane version
               dataplane --version

        Print four lines: the dataplane version, the .NET runtime it was built with (and whether
        it is the NativeAOT binary), the operating system and architecture, and what guided the
        compiler's layout and inlining: the static profile the binary was published with
        (./build.sh publish names it by its content), none (PGO=off), or the JIT's own counts.

        Options:
        {CommandOptions.Describe([])}
        """;

    /// <summary>The product version, e.g. 0.1.0, without the +commit suffix the SDK may add.</summary>
    public static string Version { get; } = ReadVersion();

    /// <summary>Runs the command on the arguments after its name.</summary>
    public static int Run(ReadOnlySpan<string> args, TextWriter stdout, TextWriter stderr)
    {
        if (CommandOptions.Parse(Name, args, [], firstOperandEndsOptions: false, stderr) is not { } options)
            return ExitCodes.Usage;
        if (options.Help)
        {
            stdout.Write(Help);
            return ExitCodes.Ok;
        }
        if (options.Operands.Count > 0)
            return CommandOptions.WriteUsageError(stderr, Name, $"unexpected argument '{options.Operands[0]}'");
        stdout.WriteLine($"dataplane {Version}");
        stdout.WriteLine($"runtime: {RuntimeInformation.FrameworkDescription}, {(IsNativeAot ? "NativeAOT" : "JIT")}");
        string kernel = KernelRelease() is { } release ? $", Linux {release}" : "";
        stdout.WriteLine($"os: {RuntimeInformation.OSDescription}{kernel}, {RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}");
        stdout.WriteLine($"pgo: {Pgo}");
        return ExitCodes.Ok;
    }

    /// <summary>Whether this is the NativeAOT binary: it has no JIT, so no method was compiled at run time.</summary>
    // PublishAot turns IsDynamicCodeSupported off even under the JIT, so the JIT is asked instead.
    public static bool IsNativeAot => System.Runtime.JitInfo.GetCompiledMethodCount() == 0;

    /// <summary>
    /// What guided the compiler's layout and inlining: the static profile the binary was published
    /// with (its content-named file, from the build's AssemblyMetadata), none, or the JIT's own counts.
    /// </summary>
    public static string Pgo =>
        !IsNativeAot ? "dynamic (the JIT's own counts)"
        : StaticProfile is { } profile ? $"static profile {profile}"
        : "none (published with PGO=off)";

    /// <summary>The engine and what guided it, for a benchmark's first line: "NativeAOT with static profile dataplane-…", "NativeAOT without a profile", "JIT with dynamic PGO".</summary>
    public static string Engine =>
        !IsNativeAot ? "JIT with dynamic PGO"
        : StaticProfile is { } profile ? $"NativeAOT with static profile {profile}"
        : "NativeAOT without a profile";

    private static string? StaticProfile { get; } =
        typeof(VersionCommand).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "StaticProfile")?.Value;

    /// <summary>uname -r, which Environment.OSVersion turns into a four-part number.</summary>
    private static string? KernelRelease()
    {
        try
        {
            return OperatingSystem.IsLinux() ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string ReadVersion()
    {
        string? version = typeof(VersionCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (string.IsNullOrEmpty(version))
            return "unknown";
        int plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? version : version[..plus];
    }
}
