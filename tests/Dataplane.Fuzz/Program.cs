// Dataplane.Fuzz: the AFL++ harness for the wire parsers (SharpFuzz instruments Dataplane.Wire.dll).
//
//   Dataplane.Fuzz TARGET                   run TARGET under afl-fuzz (input on stdin, SharpFuzz fork server)
//   Dataplane.Fuzz --list                   print the target names
//   Dataplane.Fuzz --replay TARGET PATH...  run files (or every file in a folder) without AFL; exit 1 if one throws
//   Dataplane.Fuzz --frames PCAP DIR [MAX]  write up to MAX (default 32) frames of a capture to DIR as seeds
//   Dataplane.Fuzz --seeds PCAP ROOT [MAX]  cut each frame at its layers into ROOT/TARGET/ seeds, MAX (16) per target
//
// `./build.sh fuzz` builds, instruments and runs this (build/Dataplane.Build/Fuzzing/Fuzzer.cs); see the comments there.
using Dataplane.Fuzz;
using Dataplane.Wire.Tests.Captures;
using SharpFuzz;

return args switch
{
    ["--list"] => List(),
    ["--replay", string target, .. var paths] when paths.Length > 0 => Replay(target, paths),
    ["--frames", string pcap, string dir] => Frames(pcap, dir, 32),
    ["--frames", string pcap, string dir, string max] when int.TryParse(max, out int n) && n > 0 => Frames(pcap, dir, n),
    ["--seeds", string pcap, string root] => SeedCorpus.Write(pcap, root, 16),
    ["--seeds", string pcap, string root, string max] when int.TryParse(max, out int n) && n > 0 => SeedCorpus.Write(pcap, root, n),
    [string target] when !target.StartsWith('-') => Fuzz(target),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Dataplane.Fuzz TARGET | --list | --replay TARGET FILE_OR_DIR... | --frames PCAP DIR [MAX] | --seeds PCAP ROOT [MAX]");
    Console.Error.WriteLine($"targets: {string.Join(' ', FuzzTargets.All.Keys)}");
    return 2;
}

static int List()
{
    foreach (string name in FuzzTargets.All.Keys)
        Console.WriteLine(name);
    return 0;
}

static bool TryGetTarget(string name, out Action<ReadOnlySpan<byte>> target)
{
    if (FuzzTargets.All.TryGetValue(name, out target!))
        return true;
    Console.Error.WriteLine($"Dataplane.Fuzz: unknown target '{name}'; targets: {string.Join(' ', FuzzTargets.All.Keys)}");
    return false;
}

static int Fuzz(string name)
{
    if (!TryGetTarget(name, out var target))
        return 2;

    // Under afl-fuzz, Fuzzer.Run is the fork server: it runs the action once per input (AFL rewrites
    // the file behind stdin each time) and reports an escaping exception as a crash. Outside AFL it
    // runs the action once on stdin. The buffer is reused so that an execution allocates little.
    byte[] buffer = new byte[64 * 1024];
    Fuzzer.Run(stream =>
    {
        int length = 0;
        int n;
        while ((n = stream.Read(buffer, length, buffer.Length - length)) > 0)
        {
            length += n;
            if (length == buffer.Length)
                Array.Resize(ref buffer, buffer.Length * 2);
        }
        target(buffer.AsSpan(0, length));
    });
    return 0;
}

static int Replay(string name, string[] paths)
{
    if (!TryGetTarget(name, out var target))
        return 2;

    var files = new List<string>();
    foreach (string path in paths)
    {
        if (Directory.Exists(path))
            files.AddRange(Directory.EnumerateFiles(path).Where(f => !Path.GetFileName(f).StartsWith("README", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        else if (File.Exists(path))
            files.Add(path);
        else
        {
            Console.Error.WriteLine($"{path}: no such file or directory");
            return 2;
        }
    }

    int failed = 0;
    foreach (string file in files)
    {
        try
        {
            target(File.ReadAllBytes(file));
        }
        catch (Exception e)
        {
            failed++;
            Console.WriteLine($"{file}: {e.GetType().Name}: {e.Message}");
            Console.WriteLine(e.StackTrace);
        }
    }
    Console.WriteLine($"{name}: {files.Count} inputs replayed, {failed} threw");
    return failed == 0 ? 0 : 1;
}

// Seeds from real traffic: the first frame of each distinct length, so that a short capture still
// gives AFL a spread of shapes rather than a thousand near-identical TCP segments.
static int Frames(string pcap, string dir, int max)
{
    Directory.CreateDirectory(dir);
    var lengths = new HashSet<int>();
    int written = 0;
    foreach (PcapRecord record in PcapReader.Open(pcap).Records())
    {
        if (written == max)
            break;
        if (!lengths.Add(record.Frame.Length))
            continue;
        File.WriteAllBytes(Path.Combine(dir, $"frame-{written:D3}-{record.Frame.Length}"), record.Frame);
        written++;
    }
    Console.WriteLine($"{pcap}: {written} frames written to {dir}");
    return 0;
}
