using Dataplane.Wire;

namespace Dataplane.Stack.Transport.Tcp;

/// <summary>
/// How much a connection may hold, each way, and the window it offers. <c>set tcp buffer</c> is the
/// most either buffer may grow to; each starts small and grows only as the connection shows it needs
/// more, as Linux's buffer auto-tuning does: the receive buffer follows what the app read in the
/// last round trip (dynamic right-sizing: twice that, so the sender is never held back by our window
/// while the app keeps up), the send buffer twice the congestion window. A stream on a fast, long
/// path reaches the whole buffer in a few round trips; a connection whose app reads slowly, or whose
/// path is slow, holds little. Memory is taken only as data arrives or is sent, so the bound is on
/// what a peer can make us hold, and while the worker is short of packet buffers neither grows.
/// </summary>
internal sealed partial class TcpSocket
{
    /// <summary>Each buffer's size at the start (the largest window a SYN offers unscaled); never above <c>set tcp buffer</c>.</summary>
    public const int InitialBuffer = 64 * 1024;

    /// <summary>The window we have offered and the peer may fill: from RCV.NXT to the right edge last advertised.</summary>
    private uint ReceiveWindow => (uint)Math.Max(0, _rcvAdv - _rcvNxt);

    /// <summary>The receive buffer as tuned so far (at most <see cref="_receiveLimit"/>).</summary>
    internal int ReceiveBufferSize => _receiveBuffer;

    /// <summary>
    /// The most bytes queued for the app: the buffer and an eighth more, for the window's rounding
    /// (the edge a scaled window walks past the buffer, see <see cref="AdvertiseWindow"/>). A segment
    /// past it is dropped even inside the window, as Linux drops when the memory it charges is over
    /// the buffer; the sender sends it again.
    /// </summary>
    private int ReceiveQueueLimit => _receiveBuffer + _receiveBuffer / 8;

    /// <summary>
    /// What the send buffer may hold now: twice the congestion window (Linux's tcp_sndbuf_expand),
    /// so a window's worth waits behind what is in flight, at least <see cref="InitialBuffer"/> and
    /// at most <c>set tcp buffer</c>; no more than the initial size while the worker is short of
    /// packet buffers.
    /// </summary>
    internal int SendBufferSize
    {
        get
        {
            long tuned = Math.Max(InitialBuffer, 2L * _cc.Window);
            if (!Table.MayGrowWindows)
                tuned = InitialBuffer;
            return (int)Math.Min(tuned, _sendLimit);
        }
    }

    /// <summary>
    /// The window field of the next segment, and the new right edge behind it. The edge never moves
    /// back (RFC 9293 3.8.6.2.1); it moves forward only by a worthwhile amount, at least a segment
    /// or half the buffer (receiver-side silly window avoidance, RFC 9293 3.8.6.2.2).
    /// </summary>
    private ushort AdvertiseWindow(bool syn)
    {
        int scale = syn ? 0 : _rcvScale;
        uint room = ReceiveWindowFor(syn);
        TcpSequence right = syn ? _rcvNxt + (int)room : ShareOfWindow(_rcvNxt + (int)room);
        if (right > _rcvAdv && (right - _rcvAdv >= Math.Min(_receiveBuffer / 2, _sendMss) || _rcvAdv <= _rcvNxt || syn))
        {
            WindowEdgeMoved(_rcvAdv);
            _rcvAdv = right;
        }
        uint offered = (uint)Math.Max(0, _rcvAdv - _rcvNxt);
        // The field is the window shifted down by the scale (RFC 7323 2.3), rounded up so the edge
        // never moves back. Rounded up again on every ACK as RCV.NXT moves by amounts that are not
        // multiples of 2^S, the edge walks past the buffer (RFC 7323 appendix F; a peer sending
        // tiny segments can keep the window open forever): TextInput bounds what is queued instead.
        uint field = (offered + (1u << scale) - 1) >> scale;
        field = Math.Min(field, 65535);
        TcpSequence advertised = _rcvNxt + (int)(field << scale);
        if (advertised > _rcvAdv)
            _rcvAdv = advertised;
        return (ushort)field;
    }

    /// <summary>What the receive buffer can take beyond what is queued: the window we may offer.</summary>
    private uint ReceiveWindowFor(bool syn)
    {
        int room = Math.Max(0, _receiveBuffer - _receive.Bytes);
        if (!Table.MayGrowWindows)
            room = Math.Min(room, Math.Max(0, _rcvAdv - _rcvNxt)); // the worker is short of buffers: no new promises
        return syn ? (uint)Math.Min(room, 65535) : (uint)room;
    }

    /// <summary>After the app read: the buffer tuned, and a window update when the window grew by a worthwhile amount (RFC 9293 3.8.6.2.2).</summary>
    private void AfterRead()
    {
        if (State is not (TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2))
            return;
        TuneReceiveBuffer();
        uint room = ReceiveWindowFor(syn: false);
        int growth = ShareOfWindow(_rcvNxt + (int)room) - _rcvAdv; // held at the turn's share, the update waits for the next
        if (growth >= 2 * _sendMss || growth >= _receiveBuffer / 2 || (ReceiveWindow == 0 && growth > 0))
        {
            _ackNow = true;
            Output();
        }
    }

    /// <summary>The handshake is over: the measurement of what the app reads per round trip starts, from the initial window's worth (Linux's tcp_init_buffer_space).</summary>
    private void StartReceiveTuning()
    {
        _rcvSpace = Math.Min(_receiveBuffer, 10 * _sendMss);
        _rcvSpaceRead = BytesReceived - _receive.Bytes;
        _rcvSpaceAt = Now;
    }

    /// <summary>
    /// Dynamic right-sizing (Linux's tcp_rcv_space_adjust): once a receiver round trip has passed,
    /// the bytes the app read in it are compared with the round trip before. When the app read
    /// more, the buffer grows to twice that, plus sixteen segments for the sender's bursts, plus
    /// twice the growth again while the rate still climbs (the sender is in slow start); it never
    /// shrinks (the window's right edge may not move back).
    /// </summary>
    private void TuneReceiveBuffer()
    {
        long rtt = _rcvRtt > 0 ? _rcvRtt : _srtt;
        long now = Now;
        if (rtt == 0 || now - _rcvSpaceAt < rtt)
            return;
        long read = BytesReceived - _receive.Bytes;
        long copied = read - _rcvSpaceRead;
        if (copied > _rcvSpace)
        {
            if (_receiveBuffer < _receiveLimit)
            {
                long window = 2 * copied + 16L * _sendMss;
                window += 2 * (window * (copied - _rcvSpace) / Math.Max(_rcvSpace, 1));
                if (window > _receiveBuffer)
                {
                    _receiveBuffer = (int)Math.Min(window, _receiveLimit);
                    Table.Counters.Count(TcpCounter.ReceiveBufferGrown);
                }
            }
            _rcvSpace = (int)Math.Min(copied, int.MaxValue);
        }
        _rcvSpaceRead = read;
        _rcvSpaceAt = now;
    }

    /// <summary>
    /// The receiver's round trip, which the tuning measures over (Linux's tcp_rcv_rtt_measure_ts and
    /// _measure): with timestamps, the age of the echo in a full segment (RFC 7323 4: the peer
    /// echoes the acknowledgment that let it send), smoothed. Without, the time from a window update
    /// to the first byte past the edge the peer knew before it, which the peer could not send
    /// before the update reached it: at least a round trip, so the least of those is kept.
    /// </summary>
    private void MeasureReceiverRtt(in TcpOptions options, int length)
    {
        if (_timestamps)
        {
            if (length < _sendMss / 2 || options.Timestamps is not var (_, echo) || echo == 0 || echo == _rcvRttEcho)
                return;
            _rcvRttEcho = echo;
            long sample = Math.Max(TimestampAge(echo), 1_000_000); // the clock ticks in milliseconds
            _rcvRtt = _rcvRtt == 0 ? sample : (7 * _rcvRtt + sample) / 8;
            return;
        }
        if (_rcvRttAt == 0 || _rcvNxt <= _rcvRttEdge)
            return;
        long elapsed = Now - _rcvRttAt;
        if (elapsed > 0)
            _rcvRtt = _rcvRtt == 0 ? elapsed : Math.Min(_rcvRtt, elapsed);
        _rcvRttAt = 0;
    }

    /// <summary>The right edge moves from <paramref name="edge"/>: without timestamps, a round trip to time starts here unless one is under way.</summary>
    private void WindowEdgeMoved(TcpSequence edge)
    {
        if (_timestamps || _rcvRttAt != 0 || State is not (TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2))
            return;
        _rcvRttEdge = edge;
        _rcvRttAt = Now;
    }
}
