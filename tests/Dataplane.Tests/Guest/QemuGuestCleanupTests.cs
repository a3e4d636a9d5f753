using Dataplane.Labs.Guest;

namespace Dataplane.Tests.Guest;

/// <summary>
/// A guest that never powers off (its script sleeps) is ended by its harness: dispose stops QEMU by
/// its pid and deletes the taps the guest's own lab made. One NIC, so the boot is short.
/// </summary>
[Collection(CpuHeavyCollection.Name)]
public sealed class QemuGuestCleanupTests
{
    [SkippableFact]
    public void Dispose_kills_a_hung_guests_qemu_by_its_pid_and_deletes_its_taps()
    {
        string? why = QemuGuestBoot.CannotRunBecause();
        Skip.If(why is not null, why);
        var options = new QemuGuestOptions { Nics = [new("e1000e", 3)], Run = "echo GUEST sleeping; sleep 600\n", Timeout = TimeSpan.FromSeconds(120) };
        int pid;
        IReadOnlyList<string> taps;
        using (QemuGuest guest = QemuGuest.Boot(options))
        {
            pid = guest.Pid;
            taps = guest.Taps;
            guest.Expect("GUEST sleeping");
            Assert.False(guest.HasExited);
            Assert.True(Directory.Exists($"/sys/class/net/{taps[0]}"));
        }
        Assert.False(File.Exists($"/proc/{pid}/cmdline") && File.ReadAllText($"/proc/{pid}/cmdline").StartsWith(QemuGuest.Qemu, StringComparison.Ordinal),
            $"QEMU (pid {pid}) still runs");
        Assert.False(Directory.Exists($"/sys/class/net/{taps[0]}"), $"tap {taps[0]} is still there");
    }
}
