using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Dataplane.Labs;
using Dataplane.Labs.Guest;
using static Dataplane.Build.Commands;

namespace Dataplane.Build;

/// <summary>
/// <c>./build.sh guest [COMMAND...]</c>: the test guest by hand. Prepares the kernel and the
/// initramfs (lab/Dataplane.Labs/Guest), boots the guest with its three NICs bound to vfio-pci, runs
/// COMMAND in it (a shell command line; default <c>dataplane version</c>), prints the console as it
/// comes, and exits with the command's status in the guest.
/// </summary>
internal static partial class GuestBoot
{
    public static int Run(Terminal terminal, string[] args)
    {
        if (QemuGuest.CannotBootBecause() is string why)
            return terminal.Die($"guest: {why}");
        string? beforeBind = null;
        if (args is ["--before-bind", var script, .. var rest])
        {
            beforeBind = script;
            args = rest;
        }
        string command = args.Length > 0 ? string.Join(' ', args) : "dataplane version";
        terminal.Step("guest: kernel and initramfs (.qemu/, out/guest/)");
        GuestImage image;
        try
        {
            image = GuestImage.Prepare(Root, Binary, Console.Out);
        }
        catch (Exception e) when (e is LabException or IOException or TimeoutException) // TimeoutException: apt-get past its bound
        {
            return terminal.Die($"guest: {e.Message}");
        }
        Console.Out.WriteLine($"    {image.Kernel.Package}, initramfs {new FileInfo(image.Initramfs).Length / 1024} KiB, ready in {image.Took.TotalSeconds:0.0} s");
        terminal.Step($"guest: boot, then: {command}");
        var clock = Stopwatch.StartNew();
        using var guest = QemuGuest.Boot(new QemuGuestOptions { Image = image, BeforeBind = beforeBind, Run = command + "\n" });
        int printed = 0;
        while (!guest.HasExited && clock.Elapsed < guest.Options.Timeout)
        {
            printed = Print(guest.Console, printed);
            Thread.Sleep(100);
        }
        _ = guest.WaitFor("GUEST done", TimeSpan.FromSeconds(1));
        Print(guest.Console, printed);
        if (!guest.HasExited)
            return terminal.Die($"guest: still running after {guest.Options.Timeout.TotalSeconds:0} s; stopped");
        Console.Out.WriteLine($"    /init after {guest.TimeOf("init")?.TotalSeconds:0.0} s, powered off after {clock.Elapsed.TotalSeconds:0.0} s (console: {guest.ConsoleFile})");
        Match exit = RunExit().Match(guest.Console);
        return exit.Success ? int.Parse(exit.Groups[1].Value, CultureInfo.InvariantCulture) : terminal.Die("guest: the command did not run to its end (see above)");
    }

    private static int Print(string console, int from)
    {
        if (console.Length > from)
            Console.Out.Write(console[from..]);
        return console.Length;
    }

    [GeneratedRegex(@"GUEST run exit ([0-9]+)")]
    private static partial Regex RunExit();
}
