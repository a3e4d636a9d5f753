using System.Buffers.Binary;
using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Packetdrill;

/// <summary>
/// getsockopt(TCP_INFO): the leading fields of Linux's <c>struct tcp_info</c>
/// (include/uapi/linux/tcp.h) that the stack's socket can answer; the rest stay zero.
/// </summary>
internal static class TcpInformation
{
    /// <summary>Bytes up to and including tcpi_total_retrans, the last field written.</summary>
    public const int Length = 104;

    private const int StateOffset = 0;
    private const int SendMssOffset = 16;
    private const int UnackedOffset = 24;
    private const int RttOffset = 68;
    private const int CongestionWindowOffset = 80;
    private const int TotalRetransOffset = 100;

    /// <summary>Writes what fits of the fields into <paramref name="into"/>; returns the length written.</summary>
    public static int Write(TcpSocket? tcp, Span<byte> into)
    {
        Span<byte> info = stackalloc byte[Length];
        info.Clear();
        info[StateOffset] = LinuxState(tcp?.State ?? TcpState.Closed);
        if (tcp is not null && tcp.State is not (TcpState.Closed or TcpState.Listen))
        {
            BinaryPrimitives.WriteUInt32LittleEndian(info[SendMssOffset..], (uint)tcp.SendMss);
            BinaryPrimitives.WriteUInt32LittleEndian(info[UnackedOffset..], (uint)Math.Max(0, tcp.SendQueued));
            BinaryPrimitives.WriteUInt32LittleEndian(info[RttOffset..], (uint)(tcp.SmoothedRtt / 1000));
            BinaryPrimitives.WriteUInt32LittleEndian(info[CongestionWindowOffset..], (uint)(tcp.CongestionWindow / Math.Max(1, tcp.SendMss)));
            BinaryPrimitives.WriteUInt32LittleEndian(info[TotalRetransOffset..], (uint)tcp.Retransmits);
        }
        int n = Math.Min(Length, into.Length);
        info[..n].CopyTo(into);
        return n;
    }

    /// <summary>Linux's TCP state numbers (include/net/tcp_states.h).</summary>
    private static byte LinuxState(TcpState state) => state switch
    {
        TcpState.Established => 1,
        TcpState.SynSent => 2,
        TcpState.SynReceived => 3,
        TcpState.FinWait1 => 4,
        TcpState.FinWait2 => 5,
        TcpState.TimeWait => 6,
        TcpState.Closed => 7,
        TcpState.CloseWait => 8,
        TcpState.LastAck => 9,
        TcpState.Listen => 10,
        TcpState.Closing => 11,
        _ => 0,
    };
}
