using Dataplane.Buffers;

namespace Dataplane.Stack.Transport;

/// <summary>What a socket operation says instead of an errno.</summary>
internal enum UdpError
{
    /// <summary>Done.</summary>
    None,

    /// <summary>An endpoint of the wrong family, an unspecified or broadcast peer, port 0 as a peer (EINVAL).</summary>
    InvalidArgument,

    /// <summary>Not in a state for it: bound twice, connected twice, sent on while closed or unconnected (EINVAL, EISCONN, ENOTCONN).</summary>
    InvalidState,

    /// <summary>Another socket has the local endpoint, or the four-tuple (EADDRINUSE).</summary>
    AddressInUse,

    /// <summary>The local address is not one of ours (EADDRNOTAVAIL).</summary>
    AddressNotAvailable,

    /// <summary>No route to the peer, or no source address toward it (ENETUNREACH).</summary>
    NetworkUnreachable,

    /// <summary>Every ephemeral port is taken, or none lands on this worker (EAGAIN).</summary>
    NoPortAvailable,

    /// <summary>
    /// The four-tuple hashes to another worker: its datagrams would never reach this socket. A
    /// connected socket lives on the worker that owns its flow.
    /// </summary>
    OtherWorker,

    /// <summary>The datagram does not fit a packet buffer or a UDP length (EMSGSIZE).</summary>
    MessageTooLong,

    /// <summary>No packet buffer was free (ENOBUFS).</summary>
    NoBuffer,

    /// <summary>Spliced already: the source to a drain, or the drain from a source (EBUSY).</summary>
    Busy,
}

/// <summary>
/// An application that runs inside a worker's loop over UDP sockets: the event API of the built-in
/// apps and of one's own. One instance per worker; <see cref="Start"/> runs on every worker before
/// traffic flows, and every callback after it runs on that worker's thread, so an instance needs no
/// locks. Datagrams come in through <see cref="OnDatagram"/>, one virtual call each; nothing on the
/// way allocates.
/// </summary>
internal abstract class UdpApp
{
    /// <summary>The socket table of the worker this instance runs on.</summary>
    protected UdpSocketTable Udp { get; private set; } = null!;

    /// <summary>The app's number in its table, which its timers carry.</summary>
    internal int Id { get; set; }

    /// <summary>What the config calls the app, for messages: <c>echo udp</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Starts the app on the worker of <paramref name="udp"/>: opens and binds its sockets.</summary>
    internal UdpError Start(UdpSocketTable udp)
    {
        Udp = udp;
        return OnStart();
    }

    /// <summary>Opens and binds the app's sockets; a failure stops the start of the dataplane.</summary>
    protected abstract UdpError OnStart();

    /// <summary>
    /// A datagram for <paramref name="socket"/>. The app reads it, answers it in its own buffer
    /// (<see cref="UdpReceived.Reply"/>, <see cref="UdpReceived.Forward"/>), or sends copies with
    /// <see cref="UdpSocket.Send"/>; the buffer is released after the call unless it was sent on.
    /// </summary>
    public abstract void OnDatagram(UdpSocket socket, ref UdpReceived datagram);

    /// <summary>
    /// The splice whose source is <paramref name="source"/> dissolved (<see cref="UdpSocket.Splice"/>):
    /// its maximum would be passed (the datagram that would pass it comes to the app), nothing moved
    /// for its idle timeout, a datagram was larger than the drain can send, or the drain could not
    /// send or was closed. Datagrams for the source come to the app again.
    /// </summary>
    protected internal virtual void OnSpliceEnded(UdpSocket source, SpliceEnd reason)
    {
    }

    /// <summary>A timer the app scheduled with <see cref="UdpSocketTable.ScheduleTimer"/> fired.</summary>
    protected internal virtual void OnTimer(int payload)
    {
    }
}

/// <summary>
/// Where a received datagram sits in its buffer and what it said about itself: what delivery and
/// an in-place send need.
/// </summary>
/// <param name="Packet">The buffer: one, or the head of a chain (whose payload the app reads in the worker's linear copy).</param>
/// <param name="PayloadOffset">Where the payload starts, from the start of the frame.</param>
/// <param name="PayloadLength">Bytes of payload, by the UDP length field.</param>
/// <param name="From">The sender.</param>
/// <param name="To">The destination: one of our addresses, or a broadcast or multicast one.</param>
/// <param name="Checksum">The checksum as received when it is right and complete (an in-place send updates it); 0 when it must be computed afresh.</param>
/// <param name="Interface">The interface it arrived on.</param>
/// <param name="IsBroadcast">Sent to a broadcast or multicast address.</param>
internal readonly record struct ReceivedDatagram(PacketBuffer Packet, int PayloadOffset, int PayloadLength, InetEndpoint From, InetEndpoint To, ushort Checksum, int Interface, bool IsBroadcast);

/// <summary>
/// A datagram handed to <see cref="UdpApp.OnDatagram"/>: valid during the call only. Its buffer
/// can be sent on as it is (the payload stays in place, headers are rewritten in front of it),
/// which is how echo answers and how a splice moves datagrams without a copy.
/// </summary>
internal ref struct UdpReceived
{
    private readonly UdpLayer _udp;
    private readonly ReceivedDatagram _datagram;
    private bool _consumed;

    internal UdpReceived(UdpLayer udp, in ReceivedDatagram datagram)
    {
        _udp = udp;
        _datagram = datagram;
    }

    /// <summary>The sender.</summary>
    public readonly InetEndpoint From => _datagram.From;

    /// <summary>Where it was sent: one of our addresses, or a broadcast or multicast address.</summary>
    public readonly InetEndpoint To => _datagram.To;

    /// <summary>True when it was sent to a broadcast or multicast address.</summary>
    public readonly bool IsBroadcast => _datagram.IsBroadcast;

    /// <summary>The interface it arrived on.</summary>
    public readonly int Interface => _datagram.Interface;

    /// <summary>The payload bytes (read-only: an in-place send updates the checksum for the headers alone).</summary>
    public readonly ReadOnlySpan<byte> Payload => _udp.Payload(_datagram.Packet, _datagram.PayloadOffset, _datagram.PayloadLength);

    /// <summary>True once the buffer was sent on; the app must not touch the datagram after that.</summary>
    public readonly bool IsConsumed => _consumed;

    /// <summary>Sends the datagram back to <see cref="From"/>, from the address it was sent to, in its own buffer.</summary>
    public UdpError Reply()
    {
        if (_consumed)
            return UdpError.InvalidState;
        _consumed = true;
        return _udp.ReplyInPlace(_datagram);
    }

    /// <summary>Sends the datagram on through <paramref name="via"/> to the peer it is connected to, in its own buffer.</summary>
    public UdpError Forward(UdpSocket via) => via.State == UdpSocketState.Connected ? ForwardTo(via, via.Remote) : UdpError.InvalidState;

    /// <summary>Sends the datagram on through <paramref name="via"/> to <paramref name="to"/>, in its own buffer.</summary>
    public UdpError ForwardTo(UdpSocket via, in InetEndpoint to)
    {
        if (_consumed || via.State == UdpSocketState.Closed)
            return UdpError.InvalidState;
        _consumed = true;
        return _udp.ForwardInPlace(_datagram, via, to);
    }
}
