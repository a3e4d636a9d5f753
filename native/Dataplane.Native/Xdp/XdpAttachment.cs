namespace Dataplane.Native;

/// <summary>
/// An <see cref="XdpProgram"/> running on an interface. Through a BPF link (the usual case) the
/// program is detached when the link descriptor closes, here or when the process dies, so a crashed
/// dataplane leaves no program behind; through the rtnetlink fallback it stays until
/// <see cref="Dispose"/> detaches it (RTM_SETLINK IFLA_XDP with fd -1).
/// </summary>
public sealed class XdpAttachment : IDisposable
{
    private readonly FileDescriptor? _link;
    private bool _detached;

    internal XdpAttachment(FileDescriptor? link, int interfaceIndex, XdpAttachMode mode)
    {
        _link = link;
        InterfaceIndex = interfaceIndex;
        Mode = mode;
    }

    /// <summary>The interface the program runs on.</summary>
    public int InterfaceIndex { get; }

    /// <summary>Native or generic.</summary>
    public XdpAttachMode Mode { get; }

    /// <summary>True when attached through a BPF link (BPF_LINK_CREATE), false through rtnetlink.</summary>
    public bool IsLink => _link is not null;

    /// <summary>
    /// Detaches the program: closes the link, or sends RTM_SETLINK IFLA_XDP fd -1. An interface that
    /// is gone (ENODEV) took the program with it; any other netlink failure throws
    /// <see cref="NativeException"/>. A second call does nothing.
    /// </summary>
    public void Dispose()
    {
        if (_detached)
            return;
        _detached = true;
        if (_link is not null)
        {
            _link.Dispose();
            return;
        }
        int result = RouteNetlink.SetXdp(InterfaceIndex, -1, (uint)Mode);
        if (result < 0 && result != -Errno.ENODEV)
            NativeException.Throw($"RTM_SETLINK IFLA_XDP fd -1 (detach) on ifindex {InterfaceIndex}, {XdpProgram.ModeName(Mode)}", new Errno(-result));
    }
}
