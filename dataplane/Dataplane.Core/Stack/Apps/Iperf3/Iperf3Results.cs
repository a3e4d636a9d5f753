using System.Buffers;
using System.Text.Json;

namespace Dataplane.Stack.Apps.Iperf3;

/// <summary>One stream's line in the results JSON (iperf_api.c send_results, get_results).</summary>
public sealed record Iperf3StreamResult
{
    /// <summary>"id": the stream's number, 1, 3, 4, 5... (iperf_add_stream skips 2, for compatibility).</summary>
    public int Id { get; init; }

    /// <summary>"bytes": sent (omitted seconds excluded) by a sender, received by a receiver.</summary>
    public long Bytes { get; init; }

    /// <summary>"retransmits": a TCP sender's retransmissions, -1 when not known (receivers, UDP).</summary>
    public int Retransmits { get; init; } = -1;

    /// <summary>"jitter": a UDP receiver's RFC 1889 jitter, in seconds.</summary>
    public double Jitter { get; init; }

    /// <summary>"errors": a UDP receiver's lost datagrams (cnt_error).</summary>
    public long Errors { get; init; }

    /// <summary>"omitted_errors": sent by iperf3 3.13 and later; 0 when absent.</summary>
    public long OmittedErrors { get; init; }

    /// <summary>"packets": UDP datagrams sent, or the highest sequence number received.</summary>
    public long Packets { get; init; }

    /// <summary>"omitted_packets": sent by iperf3 3.13 and later; 0 when absent.</summary>
    public long OmittedPackets { get; init; }

    /// <summary>"start_time": always 0 (the stream's start less itself); absent before 3.2.</summary>
    public double StartTime { get; init; }

    /// <summary>"end_time": seconds from the stream's start to the end of the test.</summary>
    public double EndTime { get; init; }
}

/// <summary>
/// The results JSON each side sends at EXCHANGE_RESULTS, the client first (iperf_api.c send_results,
/// get_results, 3.12). 3.12's cJSON prints an int64 -1 as 18446744073709551615; this side writes -1
/// (what 3.13 and later write, and what 3.12 reads back alike) and reads both.
/// </summary>
public sealed class Iperf3Results
{
    /// <summary>"cpu_util_total", percent.</summary>
    public double CpuUtilTotal { get; set; }

    /// <summary>"cpu_util_user", percent.</summary>
    public double CpuUtilUser { get; set; }

    /// <summary>"cpu_util_system", percent.</summary>
    public double CpuUtilSystem { get; set; }

    /// <summary>"sender_has_retransmits": 1 when a sending side counts TCP retransmissions, 0 when not, -1 from a side that only receives.</summary>
    public int SenderHasRetransmits { get; set; }

    /// <summary>"congestion_used": the sender's TCP congestion control, when known.</summary>
    public string? CongestionUsed { get; set; }

    /// <summary>"server_output_text": the server's report, when the client asked with --get-server-output.</summary>
    public string? ServerOutputText { get; set; }

    /// <summary>"streams".</summary>
    public List<Iperf3StreamResult> Streams { get; } = [];

    /// <summary>Writes the object, unformatted, in send_results' key order, without the length prefix.</summary>
    public void WriteJson(IBufferWriter<byte> output)
    {
        using var w = new Utf8JsonWriter(output);
        w.WriteStartObject();
        w.WriteNumber("cpu_util_total"u8, CpuUtilTotal);
        w.WriteNumber("cpu_util_user"u8, CpuUtilUser);
        w.WriteNumber("cpu_util_system"u8, CpuUtilSystem);
        w.WriteNumber("sender_has_retransmits"u8, SenderHasRetransmits);
        if (CongestionUsed is not null)
            w.WriteString("congestion_used"u8, CongestionUsed);
        if (ServerOutputText is not null)
            w.WriteString("server_output_text"u8, ServerOutputText);
        w.WriteStartArray("streams"u8);
        foreach (Iperf3StreamResult s in Streams)
        {
            w.WriteStartObject();
            w.WriteNumber("id"u8, s.Id);
            w.WriteNumber("bytes"u8, s.Bytes);
            w.WriteNumber("retransmits"u8, s.Retransmits);
            w.WriteNumber("jitter"u8, s.Jitter);
            w.WriteNumber("errors"u8, s.Errors);
            w.WriteNumber("packets"u8, s.Packets);
            w.WriteNumber("start_time"u8, s.StartTime);
            w.WriteNumber("end_time"u8, s.EndTime);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>The JSON text as bytes (tests and logs).</summary>
    public byte[] ToJsonBytes()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        WriteJson(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Parses results as get_results does: the three cpu keys, sender_has_retransmits and streams
    /// must be there, and in each stream id, bytes, retransmits, jitter, errors and packets. Null and
    /// <paramref name="error"/> otherwise.
    /// </summary>
    public static Iperf3Results? Parse(ReadOnlySpan<byte> json, out string? error)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray(), Iperf3Json.DocumentOptions);
        }
        catch (JsonException e)
        {
            error = $"results: not JSON: {e.Message}";
            return null;
        }
        using (document)
        {
            JsonElement j = document.RootElement;
            if (!Iperf3Json.TryGetItem(j, "cpu_util_total", out JsonElement total)
                || !Iperf3Json.TryGetItem(j, "cpu_util_user", out JsonElement user)
                || !Iperf3Json.TryGetItem(j, "cpu_util_system", out JsonElement system)
                || !Iperf3Json.TryGetItem(j, "sender_has_retransmits", out JsonElement retransmits))
            {
                error = "results: cpu_util_total, cpu_util_user, cpu_util_system or sender_has_retransmits missing";
                return null;
            }
            var r = new Iperf3Results
            {
                CpuUtilTotal = Iperf3Json.ValueDouble(total),
                CpuUtilUser = Iperf3Json.ValueDouble(user),
                CpuUtilSystem = Iperf3Json.ValueDouble(system),
                SenderHasRetransmits = Iperf3Json.ValueInt32(retransmits),
            };
            if (Iperf3Json.TryGetItem(j, "congestion_used", out JsonElement congestion))
                r.CongestionUsed = Iperf3Json.ValueString(congestion);
            if (Iperf3Json.TryGetItem(j, "server_output_text", out JsonElement text))
                r.ServerOutputText = Iperf3Json.ValueString(text);
            if (!Iperf3Json.TryGetItem(j, "streams", out JsonElement streams) || streams.ValueKind != JsonValueKind.Array)
            {
                error = "results: streams missing";
                return null;
            }
            foreach (JsonElement s in streams.EnumerateArray())
            {
                if (!Iperf3Json.TryGetItem(s, "id", out JsonElement id)
                    || !Iperf3Json.TryGetItem(s, "bytes", out JsonElement bytes)
                    || !Iperf3Json.TryGetItem(s, "retransmits", out JsonElement retrans)
                    || !Iperf3Json.TryGetItem(s, "jitter", out JsonElement jitter)
                    || !Iperf3Json.TryGetItem(s, "errors", out JsonElement errors)
                    || !Iperf3Json.TryGetItem(s, "packets", out JsonElement packets))
                {
                    error = "results: a stream lacks id, bytes, retransmits, jitter, errors or packets";
                    return null;
                }
                r.Streams.Add(new Iperf3StreamResult
                {
                    Id = Iperf3Json.ValueInt32(id),
                    Bytes = Iperf3Json.ValueInt(bytes),
                    Retransmits = Iperf3Json.ValueInt32(retrans),
                    Jitter = Iperf3Json.ValueDouble(jitter),
                    Errors = Iperf3Json.ValueInt32(errors),
                    Packets = Iperf3Json.ValueInt32(packets),
                    OmittedErrors = Iperf3Json.TryGetItem(s, "omitted_errors", out JsonElement oe) ? Iperf3Json.ValueInt(oe) : 0,
                    OmittedPackets = Iperf3Json.TryGetItem(s, "omitted_packets", out JsonElement op) ? Iperf3Json.ValueInt(op) : 0,
                    StartTime = Iperf3Json.TryGetItem(s, "start_time", out JsonElement st) ? Iperf3Json.ValueDouble(st) : 0,
                    EndTime = Iperf3Json.TryGetItem(s, "end_time", out JsonElement et) ? Iperf3Json.ValueDouble(et) : 0,
                });
            }
            error = null;
            return r;
        }
    }
}
