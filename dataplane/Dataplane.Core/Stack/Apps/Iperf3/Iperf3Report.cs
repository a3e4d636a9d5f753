using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Dataplane.Stack.Apps.Iperf3;

/// <summary>One side of one stream in the final summary, as iperf_print_results computes it for the client.</summary>
/// <param name="Id">The stream shown in "[ ID]" (iperf3 shows its socket's descriptor; this side its stream id).</param>
/// <param name="Sender">Whether the line is the sending side's.</param>
/// <param name="Seconds">The side's time (the first stream's, for every stream, as iperf3 has it).</param>
/// <param name="Bytes">Bytes sent or received.</param>
/// <param name="Retransmits">TCP retransmissions of the sender, when counted.</param>
/// <param name="JitterMs">UDP jitter in milliseconds (0 on the sender's line).</param>
/// <param name="Lost">UDP datagrams lost (0 on the sender's line).</param>
/// <param name="Packets">UDP datagrams.</param>
public readonly record struct Iperf3SummaryLine(int Id, bool Sender, double Seconds, long Bytes, int Retransmits, double JitterMs, long Lost, long Packets)
{
    /// <summary>Bits per second over <see cref="Seconds"/>.</summary>
    public double BitsPerSecond => Seconds > 0 ? Bytes * 8 / Seconds : 0;

    /// <summary>UDP loss in percent.</summary>
    public double LostPercent => Packets > 0 ? 100.0 * Lost / Packets : 0;
}

/// <summary>
/// The client's report at the end of a test: iperf3's human summary (iperf_api.c
/// iperf_print_results, iperf_locale.c formats, non-verbose, no interval lines) and its -J JSON
/// (start, intervals, end with sum_sent and sum_received). Control path; allocates.
/// </summary>
public static class Iperf3Report
{
    private const string Separator = "- - - - - - - - - - - - - - - - - - - - - - - - -";

    /// <summary>The per-stream summary lines in iperf3's order: for each direction the client has (bidir: its senders first), each stream's sender line, then its receiver line.</summary>
    public static List<(Iperf3SummaryLine SenderLine, Iperf3SummaryLine ReceiverLine)> Lines(Iperf3ClientSession session, bool senderStreams)
    {
        ArgumentNullException.ThrowIfNull(session);
        var lines = new List<(Iperf3SummaryLine, Iperf3SummaryLine)>();
        (double senderTime, double receiverTime) = Times(session);
        foreach (Iperf3Stream s in session.Streams)
        {
            if (s.IsSender != senderStreams)
                continue;
            Iperf3StreamResult? peer = s.Peer;
            long bytesSent = s.IsSender ? s.Bytes - s.OmittedBytes : peer?.Bytes ?? 0;
            long bytesReceived = s.IsSender ? peer?.Bytes ?? 0 : s.Bytes;
            long senderPackets = (s.IsSender ? s.PacketCount : peer?.Packets ?? 0) - s.OmittedPackets;
            long receiverPackets = (s.IsSender ? peer?.Packets ?? 0 : s.PacketCount) - s.OmittedPackets;
            double jitter = s.IsSender ? peer?.Jitter ?? 0 : s.Jitter;
            long errors = (s.IsSender ? peer?.Errors ?? 0 : s.Errors) - s.OmittedErrors;
            int retransmits = s.IsSender ? s.Retransmits : peer?.Retransmits ?? -1;
            lines.Add((
                new Iperf3SummaryLine(s.Id, true, senderTime, bytesSent, retransmits, 0, 0, senderPackets),
                new Iperf3SummaryLine(s.Id, false, receiverTime, bytesReceived, -1, jitter * 1000, errors, receiverPackets)));
        }
        return lines;
    }

    /// <summary>
    /// The sender's and the receiver's time, from the first stream alone (iperf_print_results): its
    /// own time for its side; the peer's end_time - start_time for the other, or its own when the
    /// peer sent none.
    /// </summary>
    private static (double Sender, double Receiver) Times(Iperf3ClientSession session)
    {
        if (session.Streams.Count == 0)
            return (0, 0);
        Iperf3Stream first = session.Streams[0];
        double own = first.Seconds;
        double peer = first.Peer is { } p ? p.EndTime - p.StartTime : 0;
        if (peer == 0)
            peer = own;
        return first.IsSender ? (own, peer) : (peer, own);
    }

    /// <summary>Whether the sending side of <paramref name="senderStreams"/> counts retransmissions, as the client learns it.</summary>
    private static bool HasRetransmits(Iperf3ClientSession session, bool senderStreams) =>
        session.Parameters.Protocol == Iperf3Protocol.Tcp
        && (senderStreams ? session.SenderHasRetransmits : session.RemoteSenderHasRetransmits != 0);

    /// <summary>The summary iperf3's client prints at the end, from the separator to "iperf Done.", each line ending in "\n".</summary>
    public static string FormatSummary(Iperf3ClientSession session, char unitFormat = 'a')
    {
        ArgumentNullException.ThrowIfNull(session);
        Iperf3Parameters p = session.Parameters;
        bool tcp = p.Protocol == Iperf3Protocol.Tcp;
        bool bidir = p.Bidirectional;
        var o = new StringBuilder();
        o.Append(Separator).Append('\n');
        string role = bidir ? "[ ID][Role]" : "[ ID]";
        // The header has Retr when a sender the client reports on counts them: its own in the
        // default mode, the server's with -R, either with --bidir.
        bool anyRetransmits = Directions(p).Any(senders => HasRetransmits(session, senders));
        if (tcp)
            o.Append(role).Append(anyRetransmits ? " Interval           Transfer     Bitrate         Retr\n" : " Interval           Transfer     Bitrate\n");
        else
            o.Append(role).Append(" Interval           Transfer     Bitrate         Jitter    Lost/Total Datagrams\n");
        foreach (bool senders in Directions(p))
        {
            string mark = bidir ? (senders ? "[TX-C]" : "[RX-C]") : "";
            bool retransmits = HasRetransmits(session, senders);
            var lines = Lines(session, senders);
            long totalSent = 0, totalReceived = 0, lost = 0, packets = 0, senderPackets = 0, receiverPackets = 0;
            int totalRetransmits = 0;
            double jitter = 0, senderTime = 0, receiverTime = 0;
            foreach ((Iperf3SummaryLine sent, Iperf3SummaryLine received) in lines)
            {
                senderTime = sent.Seconds;
                receiverTime = received.Seconds;
                totalSent += sent.Bytes;
                totalReceived += received.Bytes;
                string id = "[" + Iperf3Format.Pad(sent.Id.ToString(CultureInfo.InvariantCulture), 3) + "]";
                if (tcp)
                {
                    if (retransmits)
                        totalRetransmits += sent.Retransmits;
                    o.Append(Line(id, mark, sent, unitFormat)).Append(retransmits ? "  " + Iperf3Format.Pad(unchecked((uint)sent.Retransmits).ToString(CultureInfo.InvariantCulture), 3) + "             sender\n" : "                  sender\n");
                    o.Append(Line(id, mark, received, unitFormat)).Append("                  receiver\n");
                }
                else
                {
                    packets += sent.Packets != 0 ? sent.Packets : received.Packets;
                    senderPackets += sent.Packets;
                    receiverPackets += received.Packets;
                    lost += received.Lost;
                    jitter += received.JitterMs;
                    o.Append(Line(id, mark, sent, unitFormat)).Append(Udp(0, 0, sent.Packets, 0, "sender"));
                    o.Append(Line(id, mark, received, unitFormat)).Append(Udp(received.JitterMs, received.Lost, received.Packets, received.LostPercent, "receiver"));
                }
            }
            if (p.Parallel > 1 && lines.Count > 0)
            {
                var sumSent = new Iperf3SummaryLine(0, true, senderTime, totalSent, totalRetransmits, 0, 0, senderPackets);
                var sumReceived = new Iperf3SummaryLine(0, false, receiverTime, totalReceived, -1, jitter / p.Parallel, lost, receiverPackets);
                if (tcp)
                {
                    o.Append(Line("[SUM]", mark, sumSent, unitFormat)).Append(retransmits ? "  " + Iperf3Format.Pad(totalRetransmits.ToString(CultureInfo.InvariantCulture), 3) + "             sender\n" : "                  sender\n");
                    o.Append(Line("[SUM]", mark, sumReceived, unitFormat)).Append("                  receiver\n");
                }
                else
                {
                    double percent = packets > 0 ? 100.0 * lost / packets : 0;
                    o.Append(Line("[SUM]", mark, sumSent, unitFormat)).Append(Udp(0, 0, senderPackets, 0, "sender"));
                    o.Append(Line("[SUM]", mark, sumReceived, unitFormat)).Append(Udp(sumReceived.JitterMs, lost, receiverPackets, percent, "receiver"));
                }
            }
        }
        o.Append('\n').Append("iperf Done.\n");
        return o.ToString();
    }

    /// <summary>The directions the client reports, in iperf3's order: its senders, then its receivers.</summary>
    private static bool[] Directions(Iperf3Parameters p) => p.Direction switch
    {
        Iperf3Direction.ClientToServer => [true],
        Iperf3Direction.Reverse => [false],
        _ => [true, false],
    };

    /// <summary>"[%3d]%s %6.2f-%-6.2f sec  %ss  %ss/sec" (report_bw_format's common part).</summary>
    private static string Line(string id, string mark, Iperf3SummaryLine line, char unitFormat) =>
        $"{id}{mark} {Iperf3Format.Pad(Iperf3Format.Fixed(0, 2), 6)}-{Iperf3Format.Pad(Iperf3Format.Fixed(line.Seconds, 2), -6)} sec  "
        + $"{Iperf3Format.Unit(line.Bytes, 'A')}s  {Iperf3Format.Unit(line.Seconds > 0 ? line.Bytes / line.Seconds : 0, unitFormat)}s/sec";

    /// <summary>"  %5.3f ms  %d/%d (%.2g%%)  %s" (report_bw_udp_format's tail).</summary>
    private static string Udp(double jitterMs, long lost, long packets, double percent, string side) =>
        $"  {Iperf3Format.Pad(Iperf3Format.Fixed(jitterMs, 3), 5)} ms  {lost}/{packets} ({Iperf3Format.General(percent, 2)}%)  {side}\n";

    /// <summary>The lines iperf3's client prints before the test: "Connecting to host HOST, port PORT", and with -R "Reverse mode, remote host HOST is sending".</summary>
    public static string FormatStart(string host, int port, Iperf3Parameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        string text = $"Connecting to host {host}, port {port}\n";
        if (parameters.Reverse)
            text += $"Reverse mode, remote host {host} is sending\n";
        return text;
    }

    /// <summary>
    /// The client's -J document in iperf3's shape: start (connected, version, timestamp,
    /// connecting_to, cookie, test_start), intervals (empty: this side keeps no intervals), end
    /// (streams, sum_sent, sum_received, for UDP also sum, cpu_utilization_percent, congestion).
    /// Bidir names the client's receiving direction *_bidir_reverse, as iperf3 does.
    /// </summary>
    public static string FormatJson(Iperf3ClientSession session, string host, int port, DateTimeOffset startTime, string? error = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        Iperf3Parameters p = session.Parameters;
        bool tcp = p.Protocol == Iperf3Protocol.Tcp;
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("start");
            w.WriteStartArray("connected");
            foreach (Iperf3Stream s in session.Streams)
            {
                w.WriteStartObject();
                w.WriteNumber("socket", s.Id);
                w.WriteString("local_host", s.LocalEndpoint ?? "");
                w.WriteString("remote_host", s.RemoteEndpoint ?? "");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("version", "iperf " + Iperf3Parameters.ClientVersionText + " (dataplane)");
            w.WriteString("system_info", "dataplane");
            w.WriteStartObject("timestamp");
            w.WriteString("time", startTime.UtcDateTime.ToString("ddd, dd MMM yyyy HH:mm:ss 'GMT'", CultureInfo.InvariantCulture));
            w.WriteNumber("timesecs", startTime.ToUnixTimeSeconds());
            w.WriteEndObject();
            w.WriteStartObject("connecting_to");
            w.WriteString("host", host);
            w.WriteNumber("port", port);
            w.WriteEndObject();
            w.WriteString("cookie", Iperf3Cookie.ToText(session.Cookie));
            w.WriteNumber("target_bitrate", p.Bandwidth);
            w.WriteStartObject("test_start");
            w.WriteString("protocol", tcp ? "TCP" : "UDP");
            w.WriteNumber("num_streams", p.Parallel);
            w.WriteNumber("blksize", p.EffectiveLength);
            w.WriteNumber("omit", p.Omit);
            w.WriteNumber("duration", p.Duration);
            w.WriteNumber("bytes", p.Bytes);
            w.WriteNumber("blocks", p.Blocks);
            w.WriteNumber("reverse", p.Reverse ? 1 : 0);
            w.WriteNumber("tos", p.Tos);
            w.WriteNumber("target_bitrate", p.Bandwidth);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartArray("intervals");
            w.WriteEndArray();
            w.WriteStartObject("end");
            w.WriteStartArray("streams");
            var sums = new List<(bool Senders, long Sent, long Received, double SenderTime, double ReceiverTime, int Retransmits, double Jitter, long Lost, long SenderPackets, long ReceiverPackets, long Packets)>();
            foreach (bool senders in Directions(p))
            {
                bool retransmits = HasRetransmits(session, senders);
                long sent = 0, received = 0, lost = 0, senderPackets = 0, receiverPackets = 0, packets = 0;
                int totalRetransmits = 0;
                double jitter = 0, senderTime = 0, receiverTime = 0;
                foreach ((Iperf3SummaryLine s, Iperf3SummaryLine r) in Lines(session, senders))
                {
                    senderTime = s.Seconds;
                    receiverTime = r.Seconds;
                    sent += s.Bytes;
                    received += r.Bytes;
                    w.WriteStartObject();
                    if (tcp)
                    {
                        w.WriteStartObject("sender");
                        WriteSide(w, s.Id, s.Seconds, s.Bytes, senders);
                        if (retransmits)
                        {
                            w.WriteNumber("retransmits", s.Retransmits);
                            totalRetransmits += s.Retransmits;
                        }
                        w.WriteEndObject();
                        w.WriteStartObject("receiver");
                        WriteSide(w, r.Id, r.Seconds, r.Bytes, senders);
                        w.WriteEndObject();
                    }
                    else
                    {
                        long count = s.Packets != 0 ? s.Packets : r.Packets;
                        packets += count;
                        senderPackets += s.Packets;
                        receiverPackets += r.Packets;
                        lost += r.Lost;
                        jitter += r.JitterMs;
                        w.WriteStartObject("udp");
                        WriteSide(w, s.Id, s.Seconds, s.Bytes, null);
                        w.WriteNumber("jitter_ms", r.JitterMs);
                        w.WriteNumber("lost_packets", r.Lost);
                        w.WriteNumber("packets", count);
                        w.WriteNumber("lost_percent", count > 0 ? 100.0 * r.Lost / count : 0);
                        w.WriteNumber("out_of_order", 0);
                        w.WriteBoolean("sender", senders);
                        w.WriteEndObject();
                    }
                    w.WriteEndObject();
                }
                sums.Add((senders, sent, received, senderTime, receiverTime, totalRetransmits, jitter, lost, senderPackets, receiverPackets, packets));
            }
            w.WriteEndArray();
            foreach (var sum in sums)
            {
                bool reverseName = p.Bidirectional && !sum.Senders;
                string suffix = reverseName ? "_bidir_reverse" : "";
                if (!tcp)
                {
                    w.WriteStartObject("sum" + suffix);
                    WriteSide(w, null, sum.ReceiverTime, sum.Sent, null, sum.ReceiverTime);
                    w.WriteNumber("jitter_ms", sum.Jitter / p.Parallel);
                    w.WriteNumber("lost_packets", sum.Lost);
                    w.WriteNumber("packets", sum.Packets);
                    w.WriteNumber("lost_percent", sum.Packets > 0 ? 100.0 * sum.Lost / sum.Packets : 0);
                    w.WriteBoolean("sender", sum.Senders);
                    w.WriteEndObject();
                }
                w.WriteStartObject("sum_sent" + suffix);
                WriteSide(w, null, sum.SenderTime, sum.Sent, tcp ? sum.Senders : null);
                if (tcp && HasRetransmits(session, sum.Senders))
                    w.WriteNumber("retransmits", sum.Retransmits);
                if (!tcp)
                {
                    w.WriteNumber("jitter_ms", 0);
                    w.WriteNumber("lost_packets", 0);
                    w.WriteNumber("packets", sum.SenderPackets);
                    w.WriteNumber("lost_percent", 0);
                    w.WriteBoolean("sender", true);
                }
                w.WriteEndObject();
                w.WriteStartObject("sum_received" + suffix);
                WriteSide(w, null, sum.ReceiverTime, sum.Received, tcp ? sum.Senders : null);
                if (!tcp)
                {
                    w.WriteNumber("jitter_ms", sum.Jitter / p.Parallel);
                    w.WriteNumber("lost_packets", sum.Lost);
                    w.WriteNumber("packets", sum.ReceiverPackets);
                    w.WriteNumber("lost_percent", sum.Packets > 0 ? 100.0 * sum.Lost / sum.Packets : 0);
                    w.WriteBoolean("sender", false);
                }
                w.WriteEndObject();
            }
            Iperf3Results? remote = session.ServerResults;
            w.WriteStartObject("cpu_utilization_percent");
            w.WriteNumber("host_total", session.CpuUtilization.Total);
            w.WriteNumber("host_user", session.CpuUtilization.User);
            w.WriteNumber("host_system", session.CpuUtilization.System);
            w.WriteNumber("remote_total", remote?.CpuUtilTotal ?? 0);
            w.WriteNumber("remote_user", remote?.CpuUtilUser ?? 0);
            w.WriteNumber("remote_system", remote?.CpuUtilSystem ?? 0);
            w.WriteEndObject();
            if (tcp)
            {
                bool clientSends = p.Direction != Iperf3Direction.Reverse;
                string? sender = clientSends ? session.CongestionUsed : remote?.CongestionUsed;
                string? receiver = clientSends ? remote?.CongestionUsed : session.CongestionUsed;
                if (sender is not null)
                    w.WriteString("sender_tcp_congestion", sender);
                if (receiver is not null)
                    w.WriteString("receiver_tcp_congestion", receiver);
            }
            w.WriteEndObject();
            if (error is not null)
                w.WriteString("error", error);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }

    private static void WriteSide(Utf8JsonWriter w, int? socket, double seconds, long bytes, bool? sender, double? end = null)
    {
        if (socket is int id)
            w.WriteNumber("socket", id);
        w.WriteNumber("start", 0);
        w.WriteNumber("end", end ?? seconds);
        w.WriteNumber("seconds", seconds);
        w.WriteNumber("bytes", bytes);
        w.WriteNumber("bits_per_second", seconds > 0 ? bytes * 8 / seconds : 0);
        if (sender is bool s)
            w.WriteBoolean("sender", s);
    }
}
