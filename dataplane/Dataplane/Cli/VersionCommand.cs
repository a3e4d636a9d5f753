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

        Print three lines: the dataplane version, the .NET runtime it was built with (and whether
        it is the NativeAOT binary), and the operating system and architecture.

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
        // PublishAot turns IsDynamicCodeSupported off even under the JIT, so ask the JIT instead:
        // the NativeAOT binary has none and reports no compiled methods.
        string engine = System.Runtime.JitInfo.GetCompiledMethodCount() == 0 ? "NativeAOT" : "JIT";
        stdout.WriteLine($"runtime: {RuntimeInformation.FrameworkDescription}, {engine}");
        string kernel = KernelRelease() is { } release ? $", Linux {release}" : "";
        stdout.WriteLine($"os: {RuntimeInformation.OSDescription}{kernel}, {RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}");
        return ExitCodes.Ok;
    }

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
