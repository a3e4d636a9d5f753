namespace Dataplane.Tests;

/// <summary>
/// The lab of one root-only test: a <see cref="NetnsLab"/> (namespaces, interfaces, processes and
/// scratch files, all removed on dispose) whose names are <c>dpt&lt;pid&gt;&lt;kind&gt;&lt;n&gt;</c>,
/// at most 15 bytes (an interface name's limit), so parallel tests and parallel runs do not collide.
/// The labs of the driver and stack tests build on it.
/// </summary>
internal class LinuxLab() : NetnsLab(Stem)
{
    /// <summary>The prefix of every name this test process gives.</summary>
    public static readonly string Stem = $"dpt{Environment.ProcessId}";

    /// <summary>A fresh interface or namespace name of at most 15 bytes.</summary>
    public static string UniqueName(char kind) => UniqueName(Stem, kind);
}
