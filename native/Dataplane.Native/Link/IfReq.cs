using System.Runtime.InteropServices;
using System.Text;

namespace Dataplane.Native;

/// <summary>
/// <c>struct ifreq</c> (netdevice(7), <c>/usr/include/net/if.h</c>; the kernel's is
/// <c>linux/if.h</c>): an interface name of up to IFNAMSIZ-1 bytes and a 24-byte union of what the
/// request reads or writes. 40 bytes on x86-64. Used by the SIOC* requests (<c>linux/sockios.h</c>)
/// and by TUNSETIFF, which reads <c>ifr_flags</c> as the TUN flags.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
public unsafe struct IfReq
{
    /// <summary>IFNAMSIZ (<c>linux/if.h</c>): name buffer size, the terminating NUL included.</summary>
    public const int NameSize = 16;

    /// <summary><c>ifr_name</c>: the interface name, NUL-terminated.</summary>
    [FieldOffset(0)] public fixed byte Name[NameSize];

    /// <summary><c>ifr_flags</c>: interface flags (SIOCGIFFLAGS) or TUN flags (TUNSETIFF).</summary>
    [FieldOffset(16)] public short Flags;

    /// <summary><c>ifr_ifindex</c> (SIOCGIFINDEX).</summary>
    [FieldOffset(16)] public int Index;

    /// <summary><c>ifr_mtu</c> (SIOCGIFMTU / SIOCSIFMTU).</summary>
    [FieldOffset(16)] public int Mtu;

    /// <summary><c>ifr_hwaddr.sa_family</c>: ARPHRD_ETHER (1) for Ethernet (SIOCGIFHWADDR).</summary>
    [FieldOffset(16)] public ushort HardwareAddressFamily;

    /// <summary><c>ifr_hwaddr.sa_data</c>: the hardware address, 6 bytes of it for Ethernet.</summary>
    [FieldOffset(18)] public fixed byte HardwareAddress[14];

    /// <summary><c>ifr_data</c>: a pointer to request-specific data (SIOCETHTOOL).</summary>
    [FieldOffset(16)] public void* Data;

    /// <summary>A request for the interface <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">The name is empty, too long, or contains a NUL.</exception>
    public static IfReq For(string name)
    {
        ValidateName(name);
        IfReq request = default;
        Encoding.ASCII.GetBytes(name, new Span<byte>(request.Name, NameSize - 1));
        return request;
    }

    /// <summary>The name in <see cref="Name"/>, up to its NUL.</summary>
    public readonly string GetName()
    {
        fixed (byte* p = Name)
        {
            var bytes = new ReadOnlySpan<byte>(p, NameSize);
            int end = bytes.IndexOf((byte)0);
            return Encoding.ASCII.GetString(end < 0 ? bytes : bytes[..end]);
        }
    }

    /// <summary>Throws unless <paramref name="name"/> fits IFNAMSIZ: 1 to 15 ASCII bytes, no NUL, '/' or space.</summary>
    public static void ValidateName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        // The kernel's dev_valid_name (net/core/dev.c) refuses '/', ':' and whitespace as well.
        if (name.Length is 0 or >= NameSize || !Ascii.IsValid(name) || name.AsSpan().IndexOfAny("\0/: \t\n") >= 0)
            throw new ArgumentException($"'{name}' is not an interface name: 1 to {NameSize - 1} ASCII characters, no '/', ':' or space", nameof(name));
    }
}
