using Dataplane.Labs.Guest;
using Xunit.Abstractions;

namespace Dataplane.Tests.Guest;

/// <summary>What the VFIO guest tests share: the guest's script around a running dataplane, and the stop.</summary>
internal static class GuestDataplane
{
    /// <summary>
    /// The guest's /etc/guest/run: starts the dataplane on /etc/dataplane.conf and waits (bounded)
    /// until it runs, says <c>GUEST started</c>, waits up to <paramref name="seconds"/> for a line on
    /// the console (the test's <see cref="Stop"/>), prints ifconfig (then <c>GUEST ifconfig end</c>),
    /// the counters that moved and what <paramref name="alsoPrint"/> prints, stops the dataplane with
    /// SIGTERM (<c>GUEST dataplane exit N</c>; SIGINT is ignored by a background job of a script),
    /// and gives each of <paramref name="rebind"/> back to its kernel driver (<c>GUEST rebound DRIVER</c>).
    /// </summary>
    public static string Script(IReadOnlyList<string> rebind, int seconds = 100, string alsoPrint = "")
    {
        string rebound = string.Concat(rebind.Select(bdf => $"""
            guest-bind {bdf} kernel
            echo "GUEST rebound $(basename "$(readlink /sys/bus/pci/devices/{bdf}/driver)")"

            """));
        return $"""
            dataplane run -c /etc/dataplane.conf -s /tmp/ctl.sock > /tmp/dataplane.log 2>&1 & pid=$!
            i=0
            while ! grep -q 'running:' /tmp/dataplane.log && kill -0 $pid 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
            cat /tmp/dataplane.log
            echo "GUEST started"
            read -t {seconds} word
            dataplane ctl -s /tmp/ctl.sock ifconfig
            echo "GUEST ifconfig end"
            dataplane ctl -s /tmp/ctl.sock netstat -s | grep -v ' 0$' | head -60
            {alsoPrint}
            kill -TERM $pid; wait $pid; echo "GUEST dataplane exit $?"
            tail -3 /tmp/dataplane.log
            {rebound}
            """;
    }

    /// <summary>Tells the script to go on and waits for the guest to power off; a failure here is only said, so that it does not hide the test's own.</summary>
    public static void Stop(QemuGuest guest, ITestOutputHelper output)
    {
        try
        {
            guest.SendLine("stop");
            guest.WaitForPowerOff();
        }
        catch (Exception e) when (e is TimeoutException or IOException or InvalidOperationException)
        {
            output.WriteLine($"stopping the guest: {e.Message}");
        }
        output.WriteLine(guest.Console);
    }
}
