using Dataplane.Build.Fuzzing;
using Dataplane.Build.Pgo;
using Dataplane.Build.Testing;

namespace Dataplane.Build;

/// <summary>
/// <c>dataplane-build</c>: what <c>./build.sh</c> hands over to code once the machine has its
/// packages. <c>test</c> runs every test project, the binary's checks, the labs' quick runs and a
/// fuzz smoke, and prints the summary whose last line is <c>N passed, N failed[, N skipped]</c>;
/// <c>fuzz</c> runs AFL++ on the fuzz targets; <c>pgo</c> makes the static profile the binary is
/// published with. It runs in the repository's root (build.sh's
/// folder). Exit codes: 0 all passed, 1 something failed, 2 usage.
/// </summary>
internal static class Program
{
    private const string Usage = """
        usage: dataplane-build test [--deps ok|failed|skipped] [--only PART,...]
               dataplane-build fuzz [SECONDS] [TARGET...]
               dataplane-build guest [--before-bind SCRIPT] [COMMAND...]
               dataplane-build pgo [FOLDER]

        test: restore and build the solution, publish and check out/dataplane, the VFIO test guest's kernel
        and initramfs (.qemu/, out/guest/), every test project
        (results from their TRX files in out/test-results/), the main job's Linux-router phase, the
        conformance quick subset on the namespace lab and on the qemu lab (the guest with two virtio-nets
        as the system under test) and a fuzz smoke; a line per part, then N passed, N failed[, N skipped].
        --deps says how build.sh's package installation went (failed: one failure; skipped: not root).
        --only runs some parts after the build: binary, guest, a test project's name (Dataplane.Native.Tests),
        lab, conformance (both quick runs), conformance-qemu (the qemu lab's only), fuzz.
        fuzz: AFL++ on every fuzz target (or the named ones), SECONDS each (default 60); findings in
        .fuzz/TARGET/; exit 1 if a crash was found.
        guest: the QEMU test guest (q35, emulated IOMMU, e1000e, vmxnet3, virtio-net on taps), its NICs
        bound to vfio-pci, COMMAND run in it (default: dataplane version); the console as it comes;
        exit: the command's status in the guest.
        pgo: the static profile the published binary is compiled with: the JIT build (dotnet build's) runs
        dataplane bench forward with the runtime writing its PGO counts, which become FOLDER/dataplane.mibc
        (default out/pgo/) for the NativeAOT compiler; run by ./build.sh publish.
        Run by ./build.sh test, ./build.sh fuzz and ./build.sh guest, which install the packages first.
        """;

    private static int Main(string[] args)
    {
        var terminal = Terminal.ForOutput();
        try
        {
            return args switch
            {
                ["test", .. var rest] => Test(terminal, rest),
                ["fuzz", .. var rest] => Fuzz(terminal, rest),
                ["guest", .. var rest] => GuestBoot.Run(terminal, rest),
                ["pgo", .. var rest] => ProfileTraining.Run(terminal, rest),
                ["-h" or "--help" or "help"] => Help(),
                _ => throw new UsageException(args.Length == 0 ? "no verb" : $"unknown verb '{args[0]}'"),
            };
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"dataplane-build: {e.Message}\n\n{Usage}");
            return 2;
        }
    }

    private static int Help()
    {
        Console.Out.WriteLine(Usage);
        return 0;
    }

    private static int Test(Terminal terminal, string[] args)
    {
        string deps = "ok";
        string[]? only = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--deps" when i + 1 < args.Length && args[i + 1] is "ok" or "failed" or "skipped":
                    deps = args[++i];
                    break;
                case "--only" when i + 1 < args.Length:
                    only = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries);
                    break;
                default:
                    throw new UsageException($"test: unexpected '{args[i]}'");
            }
        }
        return new TestRun(terminal, deps, only).Run();
    }

    private static int Fuzz(Terminal terminal, string[] args)
    {
        int seconds = 60;
        if (args.Length > 0 && args[0].All(char.IsAsciiDigit))
        {
            seconds = int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture);
            args = args[1..];
        }
        if (seconds <= 0)
            throw new UsageException("fuzz: SECONDS must be positive");
        var fuzzer = new Fuzzer(terminal, Console.Out);
        terminal.Step("fuzz: instrumenting the harness");
        if (fuzzer.Prepare() is string failed)
            return terminal.Die($"fuzz: {failed}");
        if (fuzzer.Unknown(args) is string unknown)
            return terminal.Die($"fuzz: {unknown}");
        terminal.Step($"fuzz: {seconds}s per target");
        return fuzzer.All(seconds, args) ? 0 : terminal.Die("fuzz: crashes found (or AFL failed); see above");
    }
}

/// <summary>A command line that cannot be run: exit 2 with the usage.</summary>
internal sealed class UsageException(string message) : Exception(message);
