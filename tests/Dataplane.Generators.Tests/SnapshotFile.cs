using System.Runtime.CompilerServices;

namespace Dataplane.Generators.Tests;

/// <summary>
/// The committed snapshots of emitted source, in Snapshots/ next to this file (so an update lands in
/// git). UPDATE_SNAPSHOTS=1 rewrites them from what the emitter produces now.
/// </summary>
internal static class SnapshotFile
{
    public static void AssertMatches(string hintName, string actual)
    {
        string path = Path.Combine(Directory(), hintName + ".txt");
        if (Environment.GetEnvironmentVariable("UPDATE_SNAPSHOTS") == "1")
            File.WriteAllText(path, actual);
        Assert.True(File.Exists(path), $"no snapshot {path}: run with UPDATE_SNAPSHOTS=1 to create it");
        Assert.Equal(File.ReadAllText(path), actual);
    }

    private static string Directory([CallerFilePath] string thisFile = "")
        => Path.Combine(Path.GetDirectoryName(thisFile)!, "Snapshots");
}
