using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Dataplane.Engine;

namespace Dataplane.Drivers.Vfio;

/// <summary>The input a device says it hashed a received frame over (virtio's hash_report, vmxnet3's rssType).</summary>
internal enum DeviceHashKind : byte
{
    /// <summary>No hash, or one of a kind the engine never computes (IPv6 _EX, a hash over something else).</summary>
    None = 0,

    /// <summary>The IPv4 2-tuple: source and destination addresses.</summary>
    Ipv4 = 1,

    /// <summary>The IPv4 4-tuple: addresses, then TCP or UDP ports.</summary>
    Ipv4Ports = 2,

    /// <summary>The IPv6 2-tuple.</summary>
    Ipv6 = 3,

    /// <summary>The IPv6 4-tuple (addresses of the fixed header, then TCP or UDP ports).</summary>
    Ipv6Ports = 4,
}

/// <summary>
/// What the VFIO drivers share for placing flows by the device's RSS: the device's indirection table
/// made from the engine's owners, and the check that a hash the device reports is the one the
/// engine's software would compute (<see cref="Worker{TProcessor}.SoftwareHash"/>), so that a
/// reported hash can stand in for it.
/// </summary>
/// <remarks>
/// The device's hash equals the engine's when the key is the engine's, the key is symmetric (the
/// engine's owner of a flow is the owner of its reply; a device hashing with another key would
/// place the two directions apart), and the input is the one the engine hashes: the 4-tuple for an
/// unfragmented TCP or UDP packet, the 2-tuple for fragments and other protocols
/// (<see cref="FlowKey"/>). Devices differ from the engine on the edges: vmxnet3 has no UDP hash
/// type (a UDP datagram comes with the 2-tuple), QEMU may hash the first fragment of a TCP packet
/// with its ports, and nothing hashes a VLAN-tagged frame as the engine does (it hashes 0). So the
/// kind reported is checked against the frame's own headers, a few bytes already in cache, and a
/// hash of the wrong kind is not taken: the engine hashes that frame itself.
/// </remarks>
internal static class DeviceRss
{
    private const int EthernetHeader = 14;

    /// <summary>
    /// Whether <paramref name="key"/> is symmetric the way the engine's is: a 16-bit period, so
    /// swapping addresses and ports leaves the hash unchanged (Woo and Park, 2012).
    /// </summary>
    public static bool IsSymmetric(ReadOnlySpan<byte> key)
    {
        if (key.Length < ToeplitzHash.KeyLength)
            return false;
        for (int i = 2; i < key.Length; i++)
        {
            if (key[i] != key[i - 2])
                return false;
        }
        return true;
    }

    /// <summary>
    /// The receive queue entry <paramref name="entry"/> of a device table should name so that the
    /// flows it holds reach their owner, <paramref name="owners"/>' worker for that entry: worker w
    /// drains queue w of every port, and a port with fewer queues than workers sends the flows of the
    /// others to queue w mod <paramref name="queues"/> (handed over from there).
    /// </summary>
    public static int QueueFor(RssIndirectionTable owners, int entry, int queues)
        => owners.Entries[entry % owners.Size] % queues;

    /// <summary>
    /// Whether a hash of <paramref name="kind"/> over <paramref name="frame"/> (its first buffer,
    /// from the Ethernet header) is the engine's hash of it: the frame is untagged IPv4 or IPv6 and
    /// the engine would hash the same tuple. Per frame; reads at most the first 24 bytes of the IP header.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool MatchesEngine(ReadOnlySpan<byte> frame, DeviceHashKind kind)
    {
        if (frame.Length < EthernetHeader + 40) // the IPv6 fixed header; an IPv4 one is shorter, and a frame this short is rare
            return kind is DeviceHashKind.Ipv4 or DeviceHashKind.Ipv4Ports && frame.Length >= EthernetHeader + 20 && MatchesIpv4(frame, kind);
        return kind switch
        {
            DeviceHashKind.Ipv4 or DeviceHashKind.Ipv4Ports => MatchesIpv4(frame, kind),
            DeviceHashKind.Ipv6 or DeviceHashKind.Ipv6Ports => MatchesIpv6(frame, kind),
            _ => false,
        };
    }

    private static bool MatchesIpv4(ReadOnlySpan<byte> frame, DeviceHashKind kind)
    {
        if (BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != 0x0800 || frame[EthernetHeader] >> 4 != 4)
            return false;
        // RFC 791: MF and the fragment offset; any fragment is keyed on addresses (FlowKey).
        bool fragment = (BinaryPrimitives.ReadUInt16BigEndian(frame[(EthernetHeader + 6)..]) & 0x3fff) != 0;
        byte protocol = frame[EthernetHeader + 9];
        bool ports = !fragment && (protocol == 6 || protocol == 17);
        return ports == (kind == DeviceHashKind.Ipv4Ports);
    }

    private static bool MatchesIpv6(ReadOnlySpan<byte> frame, DeviceHashKind kind)
    {
        if (BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != 0x86dd || frame[EthernetHeader] >> 4 != 6)
            return false;
        byte next = frame[EthernetHeader + 6];
        if (kind == DeviceHashKind.Ipv6Ports)
            return next == 6 || next == 17; // TCP or UDP right after the fixed header
        // The 2-tuple: the engine walks hop-by-hop (0), routing (43) and destination options (60)
        // to reach the ports, so only a frame with none of those and no TCP or UDP next is keyed on
        // addresses for sure; the rest are hashed in software.
        return next is not (6 or 17 or 0 or 43 or 60);
    }
}
