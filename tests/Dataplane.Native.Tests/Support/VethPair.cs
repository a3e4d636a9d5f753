namespace Dataplane.Native.Tests.Support;

/// <summary>
/// A veth pair in this (root) network namespace with unique names, IPv6 off, no addresses, both ends
/// up, their carrier seen: whatever goes into one end comes out of the other and nowhere else. Deleted on dispose
/// (deleting one end deletes both), by the lab library.
/// </summary>
internal sealed class VethPair : IDisposable
{
    private readonly NetnsLab _lab = new(Lab.Stem);

    public VethPair()
    {
        string stem = Lab.UniqueName('v');
        A = stem + "a";
        B = stem + "b";
        _lab.Veth(A, B);
        try
        {
            Lab.DisableIpv6(A);
            Lab.DisableIpv6(B);
            Lab.Ip("link", "set", A, "up");
            Lab.Ip("link", "set", B, "up");
            IndexA = LinkControl.IndexOf(A);
            IndexB = LinkControl.IndexOf(B);
            // The carrier comes up a moment after the link (the kernel's link watch, later on a
            // loaded machine); a frame sent before is dropped. Bounded wait.
            if (!NetnsLab.Until(() => Carrier(A) && Carrier(B), TimeSpan.FromSeconds(10)))
                throw new InvalidOperationException($"the carrier of {A} and {B} did not come up");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>One end.</summary>
    public string A { get; }

    /// <summary>The other end.</summary>
    public string B { get; }

    /// <summary>The interface index of <see cref="A"/>.</summary>
    public int IndexA { get; }

    /// <summary>The interface index of <see cref="B"/>.</summary>
    public int IndexB { get; }

    public void Dispose() => _lab.Dispose();

    private static bool Carrier(string name)
    {
        try
        {
            return File.ReadAllText($"/sys/class/net/{name}/carrier").Trim() == "1";
        }
        catch (IOException)
        {
            return false; // not up yet: the file reads EINVAL
        }
    }
}
