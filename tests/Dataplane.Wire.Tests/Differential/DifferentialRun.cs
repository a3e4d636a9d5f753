using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Text;
using Xunit.Sdk;

namespace Dataplane.Wire.Tests.Differential;

// Differential tests: packets are built with our generated code (Repr.Emit, setters, Fill*Checksum),
// then read back by our views and by an independent parser, and every field both expose must agree.
//
// Which oracle judges which protocol (each test file repeats the part it uses):
//   PacketDotNet 1.4.8: Ethernet II, 802.1Q and 802.1ad tags (its Ieee8021QPacket also decodes
//     0x88A8), ARP, the IPv4 fixed header, ICMPv4, IGMPv2, IGMPv3 queries and reports, the IPv6
//     fixed header with one extension header, ICMPv6 type/code/checksum, NDP (RS, RA, NS, NA,
//     redirect and their options), UDP, TCP with its options, GRE flags and protocol, VXLAN.
//   NaiveDecoders (BinaryPrimitives over the same bytes, written here, sharing no code with the
//     generator): IPv4 and IPv6 option lists, IPv6 extension-header chains, MLDv2, IGMPv3 auxiliary
//     data, GRE checksum/key/sequence words, VXLAN reserved bits, and every Internet checksum.
// PacketDotNet's known bugs are listed where a test works around them; each only removes the one
// field it corrupts, for the packets it corrupts.

/// <summary>
/// Runs a differential check over many random packets: packet i gets its own <see cref="System.Random"/>
/// seeded from the run's seed and i, so a failure names the seed and index that reproduce it.
/// Set DATAPLANE_DIFFERENTIAL_SEED to run with another seed.
/// </summary>
internal static class DifferentialRun
{
    /// <summary>Valid packets each protocol must see compared, at least.</summary>
    public const int ValidPacketsPerProtocol = 10_000;

    /// <summary>
    /// Packets run per variant: enough that, with one in ten deliberately invalid (a corrupted
    /// checksum, an unexpected type), every protocol still gets <see cref="ValidPacketsPerProtocol"/>.
    /// </summary>
    public const int PacketsPerVariant = 12_000;

    /// <summary>
    /// Checks <paramref name="variants"/> times <see cref="PacketsPerVariant"/> packets; a check picks
    /// its variant as <see cref="DifferentialPacket.Index"/> modulo <paramref name="variants"/>.
    /// </summary>
    public static DifferentialTally Packets(string protocol, int defaultSeed, Action<DifferentialPacket> check, int variants = 1)
    {
        int seed = SeedOverride() ?? defaultSeed;
        var tally = new DifferentialTally(protocol, seed);
        for (int i = 0; i < variants * PacketsPerVariant; i++)
            One(new DifferentialPacket(protocol, seed, i, tally), check);
        return tally;
    }

    /// <summary>Checks one packet; an exception from either parser fails the test naming the packet.</summary>
    public static void One(DifferentialPacket packet, Action<DifferentialPacket> check)
    {
        try
        {
            check(packet);
        }
        catch (XunitException)
        {
            throw;
        }
        catch (Exception e)
        {
            throw new XunitException(packet.Describe($"threw {e.GetType().Name}: {e.Message}") + "\n" + e);
        }
    }

    private static int? SeedOverride()
        => int.TryParse(Environment.GetEnvironmentVariable("DATAPLANE_DIFFERENTIAL_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int seed)
            ? seed
            : null;
}

/// <summary>How many valid packets of each protocol a run compared.</summary>
internal sealed class DifferentialTally(string run, int seed)
{
    private readonly Dictionary<string, int> _valid = new(StringComparer.Ordinal);

    public void Valid(string protocol) => _valid[protocol] = _valid.GetValueOrDefault(protocol) + 1;

    /// <summary>Fails unless every one of <paramref name="protocols"/> had <see cref="DifferentialRun.ValidPacketsPerProtocol"/> valid packets compared.</summary>
    public void AssertEachCompared(params string[] protocols)
    {
        foreach (string protocol in protocols)
        {
            int valid = _valid.GetValueOrDefault(protocol);
            Assert.True(valid >= DifferentialRun.ValidPacketsPerProtocol,
                $"{run} (seed {seed}): only {valid} valid {protocol} packets compared, want {DifferentialRun.ValidPacketsPerProtocol}");
        }
    }
}

/// <summary>One packet of a differential run: its random source, its bytes, and checks that name both.</summary>
internal sealed class DifferentialPacket
{
    private readonly string _protocol;
    private readonly string _origin;
    private readonly DifferentialTally? _tally;

    /// <summary>Packet <paramref name="index"/> of a random run with <paramref name="seed"/>.</summary>
    public DifferentialPacket(string protocol, int seed, int index, DifferentialTally tally)
        : this(protocol, $"seed {seed}, packet {index} (DATAPLANE_DIFFERENTIAL_SEED={seed} reproduces it)")
    {
        Index = index;
        Random = new Random(unchecked(seed * 1_000_003 + index));
        _tally = tally;
    }

    /// <summary>A packet that comes from elsewhere (a capture); <paramref name="origin"/> says where.</summary>
    public DifferentialPacket(string protocol, string origin)
    {
        _protocol = protocol;
        _origin = origin;
        Random = new Random(0);
    }

    /// <summary>The packet's own random source.</summary>
    public Random Random { get; }

    /// <summary>The packet's number in its run; a run with several variants picks one from it.</summary>
    public int Index { get; }

    /// <summary>Counts this packet as a valid <paramref name="protocol"/> packet that was compared in full.</summary>
    public void Compared(string protocol) => _tally?.Valid(protocol);

    /// <summary>The bytes under test, set once built; printed on failure.</summary>
    public byte[] Bytes { get; set; } = [];

    /// <summary>What kind of packet this is, for the failure message (e.g. "SACK, 3 blocks").</summary>
    public string Variant { get; set; } = "";

    /// <summary>A copy of <see cref="Bytes"/> for PacketDotNet, which rewrites length fields as it reads.</summary>
    public byte[] OracleCopy() => (byte[])Bytes.Clone();

    /// <summary>Fails unless our value equals the oracle's.</summary>
    public void Equal<T>(T theirs, T ours, string field)
    {
        if (!EqualityComparer<T>.Default.Equals(theirs, ours))
            throw new XunitException(Describe($"{field}: ours {Show(ours)}, oracle {Show(theirs)}"));
    }

    /// <summary>Fails unless two byte sequences are equal.</summary>
    public void BytesEqual(ReadOnlySpan<byte> theirs, ReadOnlySpan<byte> ours, string field)
    {
        if (!theirs.SequenceEqual(ours))
            throw new XunitException(Describe($"{field}: ours {Convert.ToHexString(ours)}, oracle {Convert.ToHexString(theirs)}"));
    }

    /// <summary>Fails unless <paramref name="condition"/> holds.</summary>
    public void True(bool condition, string what)
    {
        if (!condition)
            throw new XunitException(Describe(what));
    }

    public string Describe(string what)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{_protocol}: {what}\n");
        text.Append(CultureInfo.InvariantCulture, $"  {_origin}");
        if (Variant.Length > 0)
            text.Append(CultureInfo.InvariantCulture, $", {Variant}");
        text.Append(CultureInfo.InvariantCulture, $"\n  {Bytes.Length} bytes: {Convert.ToHexString(Bytes)}");
        return text.ToString();
    }

    private static string Show<T>(T value) => value switch
    {
        null => "null",
        byte[] bytes => Convert.ToHexString(bytes),
        Enum e => $"{e} (0x{Convert.ToUInt64(e, CultureInfo.InvariantCulture):X})",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}

/// <summary>Turns PacketDotNet's values into ours, so that they compare with ==.</summary>
internal static class Oracle
{
    public static MacAddress Mac(PhysicalAddress address) => new(address.GetAddressBytes());

    public static Ipv4Address V4(IPAddress address) => new(address.GetAddressBytes());

    public static Ipv6Address V6(IPAddress address) => new(address.GetAddressBytes());

    public static PhysicalAddress Physical(MacAddress address)
    {
        byte[] bytes = new byte[MacAddress.Length];
        address.CopyTo(bytes);
        return new PhysicalAddress(bytes);
    }

    public static IPAddress Ip(Ipv4Address address)
    {
        byte[] bytes = new byte[Ipv4Address.Length];
        address.CopyTo(bytes);
        return new IPAddress(bytes);
    }

    public static IPAddress Ip(Ipv6Address address)
    {
        byte[] bytes = new byte[Ipv6Address.Length];
        address.CopyTo(bytes);
        return new IPAddress(bytes);
    }
}

/// <summary>Random field values.</summary>
internal static class RandomFields
{
    public static MacAddress Mac(this Random random)
    {
        Span<byte> b = stackalloc byte[MacAddress.Length];
        random.NextBytes(b);
        return new MacAddress(b);
    }

    public static Ipv4Address Ipv4(this Random random)
    {
        Span<byte> b = stackalloc byte[Ipv4Address.Length];
        random.NextBytes(b);
        return new Ipv4Address(b);
    }

    public static Ipv6Address Ipv6(this Random random)
    {
        Span<byte> b = stackalloc byte[Ipv6Address.Length];
        random.NextBytes(b);
        return new Ipv6Address(b);
    }

    public static byte Byte(this Random random) => (byte)random.Next(256);

    public static ushort UInt16(this Random random) => (ushort)random.Next(65536);

    public static uint UInt32(this Random random) => (uint)random.NextInt64(1L << 32);

    public static bool Bool(this Random random) => random.Next(2) == 1;

    /// <summary>True with probability <paramref name="percent"/> / 100.</summary>
    public static bool Chance(this Random random, int percent) => random.Next(100) < percent;

    public static byte[] Bytes(this Random random, int length)
    {
        byte[] b = new byte[length];
        random.NextBytes(b);
        return b;
    }

    /// <summary>A payload length, mostly small, sometimes up to <paramref name="max"/>, odd lengths included.</summary>
    public static int PayloadLength(this Random random, int max)
        => random.Next(4) switch
        {
            0 => 0,
            1 => random.Next(Math.Min(max, 64) + 1),
            _ => random.Next(max + 1),
        };

    /// <summary>
    /// An EtherType PacketDotNet leaves undecoded, so that it hands back the payload bytes as they are:
    /// above the 802.3 length range and none of the types it parses further.
    /// </summary>
    public static EtherType OpaqueEtherType(this Random random)
    {
        while (true)
        {
            ushort type = (ushort)random.Next(0x0600, 0x10000);
            if (type is not (0x0800 or 0x0806 or 0x0842 or 0x6558 or 0x8100 or 0x86DD or 0x8864 or 0x88A8 or 0x88CC or 0x9100))
                return (EtherType)type;
        }
    }

    /// <summary>
    /// A UDP port PacketDotNet does not decode payloads for (it tries Wake-on-LAN on 0, 7 and 9, DHCP
    /// on 67/68, L2TP on 1701, Teredo on 3544 and VXLAN on 4789 and can throw on random payloads).
    /// </summary>
    public static ushort OpaqueUdpPort(this Random random)
    {
        while (true)
        {
            ushort port = random.UInt16();
            if (port is not (0 or 7 or 9 or 67 or 68 or 1701 or 3544 or 4789))
                return port;
        }
    }
}
