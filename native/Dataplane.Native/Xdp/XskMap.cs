namespace Dataplane.Native;

/// <summary>
/// A BPF_MAP_TYPE_XSKMAP (the kernel's kernel/bpf/xskmap.c): an array from queue number to AF_XDP
/// socket, which an XDP program's <c>bpf_redirect_map</c> delivers frames through. Made with
/// bpf(BPF_MAP_CREATE) directly (see <see cref="Bpf"/> for why not libbpf). A socket leaves the map
/// when it is closed. Needs CAP_NET_ADMIN (or CAP_BPF and CAP_NET_ADMIN). Control path only.
/// </summary>
public sealed unsafe class XskMap : IDisposable
{
    private XskMap(FileDescriptor descriptor, uint entries)
    {
        Descriptor = descriptor;
        Entries = entries;
    }

    /// <summary>The map's descriptor; the program loaded against it holds its own reference.</summary>
    public FileDescriptor Descriptor { get; }

    /// <summary>max_entries: one slot per queue.</summary>
    public uint Entries { get; }

    /// <summary>
    /// bpf(BPF_MAP_CREATE) of an XSKMAP with <paramref name="entries"/> slots (the interface's queue
    /// count), 4-byte keys (the queue) and 4-byte values (a socket descriptor), named <c>xsks_map</c>.
    /// </summary>
    public static XskMap Create(uint entries)
    {
        ArgumentOutOfRangeException.ThrowIfZero(entries);
        var attribute = new BpfMapCreateAttribute
        {
            MapType = Bpf.MapTypeXskMap,
            KeySize = sizeof(uint),
            ValueSize = sizeof(int),
            MaxEntries = entries,
        };
        "xsks_map"u8.CopyTo(new Span<byte>(attribute.MapName, 15));
        int fd = Bpf.Call(Bpf.MapCreate, ref attribute);
        if (fd < 0)
            NativeException.Throw($"bpf(BPF_MAP_CREATE, BPF_MAP_TYPE_XSKMAP, {entries} entries)", new Errno(-fd));
        return new XskMap(new FileDescriptor(fd), entries);
    }

    /// <summary>bpf(BPF_MAP_UPDATE_ELEM): frames the program redirects from queue <paramref name="queueId"/> go to <paramref name="socket"/> (bound already).</summary>
    public void Set(uint queueId, XdpSocket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        uint key = queueId;
        int value = socket.Descriptor.Value;
        var attribute = new BpfMapElementAttribute
        {
            MapDescriptor = (uint)Descriptor.Value,
            Key = (ulong)&key,
            Value = (ulong)&value,
        };
        int result = Bpf.Call(Bpf.MapUpdateElement, ref attribute);
        if (result < 0)
            NativeException.Throw($"bpf(BPF_MAP_UPDATE_ELEM, xsks_map[{queueId}] = xsk fd {value})", new Errno(-result));
    }

    /// <summary>bpf(BPF_MAP_DELETE_ELEM): queue <paramref name="queueId"/>'s frames go back to the kernel's stack (XDP_PASS).</summary>
    public void Remove(uint queueId)
    {
        uint key = queueId;
        var attribute = new BpfMapElementAttribute { MapDescriptor = (uint)Descriptor.Value, Key = (ulong)&key };
        int result = Bpf.Call(Bpf.MapDeleteElement, ref attribute);
        if (result < 0)
            NativeException.Throw($"bpf(BPF_MAP_DELETE_ELEM, xsks_map[{queueId}])", new Errno(-result));
    }

    /// <summary>Closes the map's descriptor; the map lives on while a loaded program refers to it.</summary>
    public void Dispose() => Descriptor.Dispose();
}
