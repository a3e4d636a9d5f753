namespace Dataplane.Conformance.Labs;

/// <summary>
/// The addresses of OpenBSD's netlink lab for one line N: the left net 10.10.N1.0/24 (left host .1,
/// system under test .2), the right net 10.10.N2.0/24 (system under test .3, right host .4), the
/// same hosts in fdd7:e83e:66bd:10N1::/64 and ...10N2::/64, and multicast groups 234.10.N.x.
/// </summary>
public sealed class Addressing
{
    /// <summary>The addresses of line <paramref name="line"/> (1 to 9).</summary>
    public Addressing(int line)
    {
        if (line is < 1 or > 9)
            throw new ArgumentOutOfRangeException(nameof(line), line, "a line is 1 to 9");
        Line = line;
    }

    /// <summary>The line number.</summary>
    public int Line { get; }

    /// <summary>The address of <paramref name="who"/> (left, sutleft, sutright, right) in <paramref name="family"/> (4 or 6), without a prefix length.</summary>
    public string Of(string who, int family) => (who, family) switch
    {
        ("left", 4) => $"10.10.{Line}1.1",
        ("sutleft", 4) => $"10.10.{Line}1.2",
        ("sutright", 4) => $"10.10.{Line}2.3",
        ("right", 4) => $"10.10.{Line}2.4",
        ("left", 6) => $"fdd7:e83e:66bd:10{Line}1::1",
        ("sutleft", 6) => $"fdd7:e83e:66bd:10{Line}1::2",
        ("sutright", 6) => $"fdd7:e83e:66bd:10{Line}2::3",
        ("right", 6) => $"fdd7:e83e:66bd:10{Line}2::4",
        _ => throw new ArgumentException($"no address for {who} in IPv{family}"),
    };

    /// <summary>The left or right network in <paramref name="family"/>, as a prefix.</summary>
    public string Net(string side, int family) => (side, family) switch
    {
        ("left", 4) => $"10.10.{Line}1.0/24",
        ("right", 4) => $"10.10.{Line}2.0/24",
        ("left", 6) => $"fdd7:e83e:66bd:10{Line}1::/64",
        ("right", 6) => $"fdd7:e83e:66bd:10{Line}2::/64",
        _ => throw new ArgumentException($"no {side} network in IPv{family}"),
    };

    /// <summary>The prefix length of the lab's networks in <paramref name="family"/>.</summary>
    public static int PrefixLength(int family) => family == 4 ? 24 : 64;

    /// <summary>The multicast group the multicast cases use in <paramref name="family"/>.</summary>
    public string Group(int family) => family == 4 ? $"234.10.{Line}.1" : $"ff15::10:{Line}:1";
}
