using System.Globalization;

namespace Dataplane.Config;

/// <summary>A PCI function address, domain:bus:device.function, as sysfs and lspci -D print it.</summary>
internal readonly record struct PciAddress(int Domain, int Bus, int Device, int Function)
{
    /// <summary>The one accepted text form, DDDD:BB:DD.F in hex.</summary>
    public const string Form = "DDDD:BB:DD.F";

    /// <summary>Parses DDDD:BB:DD.F in hex, either case; device 0-1f, function 0-7.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out PciAddress address)
    {
        address = default;
        if (text.Length != 12 || text[4] != ':' || text[7] != ':' || text[10] != '.')
            return false;
        if (!Hex(text[..4], out int domain) || !Hex(text[5..7], out int bus) || !Hex(text[8..10], out int device) || !Hex(text[11..], out int function))
            return false;
        if (device > 0x1F || function > 7)
            return false; // PCI has 32 devices per bus and 8 functions per device
        address = new PciAddress(domain, bus, device, function);
        return true;
    }

    /// <summary>The sysfs form: lowercase hex, 0000:00:03.0.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Domain:x4}:{Bus:x2}:{Device:x2}.{Function:x1}");

    private static bool Hex(ReadOnlySpan<char> s, out int value)
    {
        value = 0;
        foreach (char c in s)
        {
            if (!char.IsAsciiHexDigit(c))
                return false;
        }
        return int.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }
}
