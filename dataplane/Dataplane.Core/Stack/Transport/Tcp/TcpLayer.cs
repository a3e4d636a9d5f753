using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Stack.Ip;
using Dataplane.Wire;

namespace Dataplane.Stack.Transport.Tcp;

/// <summary>
/// TCP of one worker, for both families: input checks (RFC 9293 3.1, the checksum of 3.1 over the
/// pseudo-header of RFC 9293 3.1 and RFC 8200 8.1), and the answer of a host to a segment that
/// finds no connection (RFC 9293 3.10.7.1, the CLOSED state): a reset, rate-limited per worker.
/// It takes <see cref="IpDatagram"/>s from the IP layer and sends through <see cref="IpOutput"/>,
/// as UDP does. Connections, listeners and the state machine (issue 12) are built on this input.
/// Counts under TCP.
/// </summary>
internal sealed class TcpLayer
{
    private const int TcpHeader = TcpSegment.FixedLength;

    private readonly WorkerContext _context;
    private readonly WorkerPackets _packets;
    private readonly IpOutput _output;
    private readonly StackCounters _counters;
    private PacketRateLimit _resets;

    /// <summary>TCP of the worker whose buffers <paramref name="packets"/> handles, over <paramref name="output"/>; counts in <paramref name="counters"/>.</summary>
    public TcpLayer(WorkerPackets packets, IpOutput output, StackCounters counters)
    {
        _packets = packets;
        _context = packets.Context;
        _output = output;
        _counters = counters;
        _resets = new PacketRateLimit(_context.Now);
    }

    /// <summary>Takes a segment the IP layer passed up: checks it, and answers it as a host without that connection does.</summary>
    public void Input(in IpDatagram datagram)
    {
        _counters.Count(TcpCounter.Received);
        // RFC 9293 3.1: the data offset counts 32-bit words of header, at least five, within the segment.
        if (!TcpSegment.TryCreate(datagram.Transport, out TcpSegment tcp))
        {
            Drop(datagram.Packet, TcpCounter.BadHeaderLength);
            return;
        }
        // The checksum is mandatory in both families; the kernel under tap and afpacket vouches for
        // it when it says verified, or partial (its own, not yet summed).
        if ((datagram.Offload & (OffloadFlags.L4ChecksumVerified | OffloadFlags.L4ChecksumPartial)) == 0 && !VerifyChecksum(tcp, datagram))
        {
            Drop(datagram.Packet, TcpCounter.BadChecksum);
            return;
        }
        if (datagram.IsBroadcast)
        {
            // RFC 1122 4.2.3.10: a segment to a broadcast or multicast address is never answered.
            Drop(datagram.Packet, TcpCounter.Broadcast);
            return;
        }
        if (datagram.Source.IsUnspecified)
        {
            // IPv6 input lets :: through for duplicate address detection; nothing can go back to it.
            Drop(datagram.Packet, TcpCounter.UnspecifiedSource);
            return;
        }
        Closed(datagram, tcp);
        _packets.Drop(datagram.Packet); // no connection took it, answered or not
    }

    /// <summary>
    /// RFC 9293 3.10.7.1, the CLOSED state: the segment's data is discarded; a reset is discarded;
    /// anything else is answered with a reset whose numbers the sender will accept:
    /// <c>&lt;SEQ=SEG.ACK&gt;&lt;CTL=RST&gt;</c> when it carried an ACK, else
    /// <c>&lt;SEQ=0&gt;&lt;ACK=SEG.SEQ+SEG.LEN&gt;&lt;CTL=RST,ACK&gt;</c>.
    /// </summary>
    private void Closed(in IpDatagram datagram, TcpSegment tcp)
    {
        TcpFlags flags = tcp.Flags;
        if ((flags & TcpFlags.Rst) != 0)
        {
            _counters.Count(TcpCounter.ResetNoPort);
            return;
        }
        _counters.Count(TcpCounter.NoPort);
        if (!_resets.TryTake(_context.Now))
        {
            _counters.Count(TcpCounter.ResetsRateLimited);
            return;
        }
        uint sequence, acknowledgment;
        TcpFlags reset;
        if ((flags & TcpFlags.Ack) != 0)
        {
            (sequence, acknowledgment, reset) = (tcp.AcknowledgmentNumber, 0, TcpFlags.Rst);
        }
        else
        {
            // SEG.LEN counts the data and the SYN and FIN flags, each one sequence number.
            int length = tcp.PacketLength - tcp.HeaderLength + ((flags & TcpFlags.Syn) != 0 ? 1 : 0) + ((flags & TcpFlags.Fin) != 0 ? 1 : 0);
            (sequence, acknowledgment, reset) = (0, tcp.SequenceNumber + (uint)length, TcpFlags.Rst | TcpFlags.Ack);
        }
        SendReset(datagram, tcp.DestinationPort, tcp.SourcePort, sequence, acknowledgment, reset);
    }

    /// <summary>Sends a reset without options from the segment's destination back to its source, out of the interface it came in on for a link-local peer.</summary>
    private void SendReset(in IpDatagram segment, ushort sourcePort, ushort destinationPort, uint sequence, uint acknowledgment, TcpFlags flags)
    {
        InetAddress source = segment.Destination, destination = segment.Source;
        Span<byte> l3 = _packets.New(IpOutput.HeaderLength(destination.IsIpv6) + TcpHeader, out PacketBuffer packet);
        if (!packet.IsValid)
        {
            _counters.Count(TcpCounter.NoBuffer);
            _output.CountNoBuffer(destination.IsIpv6);
            return;
        }
        Span<byte> l4 = l3[IpOutput.HeaderLength(destination.IsIpv6)..];
        new TcpSegment.Repr
        {
            SourcePort = sourcePort,
            DestinationPort = destinationPort,
            SequenceNumber = sequence,
            AcknowledgmentNumber = acknowledgment,
            DataOffset = TcpHeader / 4,
            Flags = flags,
        }.Emit(l4);
        TcpSegment.TryCreate(l4, out TcpSegment reset);
        if (destination.IsIpv6)
            reset.FillChecksum(source.Mapped, destination.Mapped);
        else
            reset.FillChecksum(source.V4, destination.V4);
        if (_output.Send(packet, source, destination, IpProtocol.Tcp, TcpHeader, segment.Interface.Index))
            _counters.Count(TcpCounter.ResetsSent);
    }

    private static bool VerifyChecksum(TcpSegment tcp, in IpDatagram datagram) => datagram.IsIpv6
        ? tcp.VerifyChecksum(datagram.Source.Mapped, datagram.Destination.Mapped)
        : tcp.VerifyChecksum(datagram.Source.V4, datagram.Destination.V4);

    private void Drop(PacketBuffer packet, TcpCounter reason)
    {
        _counters.Count(reason);
        _packets.Drop(packet);
    }
}
