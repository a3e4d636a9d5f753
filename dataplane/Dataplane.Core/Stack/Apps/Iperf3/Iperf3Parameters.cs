using System.Buffers;
using System.Text.Json;

namespace Dataplane.Stack.Apps.Iperf3;

/// <summary>
/// What the client tells the server at PARAM_EXCHANGE (iperf_api.c send_parameters and
/// get_parameters, 3.12). Emitted in send_parameters' key order with its rules (optional keys only
/// when set); parsed with get_parameters' rules: a flag key counts by its presence whatever its
/// value ("reverse": false still means reverse), numbers read as cJSON's valueint.
/// </summary>
public sealed class Iperf3Parameters
{
    /// <summary>iperf3's default TCP block (DEFAULT_TCP_BLKSIZE): 128 KiB.</summary>
    public const int DefaultTcpLength = 128 * 1024;

    /// <summary>iperf3's UDP block when the control connection's MSS is unknown (DEFAULT_UDP_BLKSIZE).</summary>
    public const int DefaultUdpLength = 1460;

    /// <summary>The largest block (MAX_BLOCKSIZE): 1 MiB.</summary>
    public const int MaximumLength = 1024 * 1024;

    /// <summary>The smallest UDP block (MIN_UDP_BLOCKSIZE): the 16-byte header with a 64-bit count.</summary>
    public const int MinimumUdpLength = 4 + 4 + 8;

    /// <summary>The largest UDP block (MAX_UDP_BLOCKSIZE): 65535 less the UDP and IPv4 headers.</summary>
    public const int MaximumUdpLength = 65535 - 8 - 20;

    /// <summary>The most parallel streams (MAX_STREAMS).</summary>
    public const int MaximumStreams = 128;

    /// <summary>The UDP rate when -b is not given (UDP_RATE): 1 Mbit/s, 2-based as iperf3 has it.</summary>
    public const long DefaultUdpBandwidth = 1024 * 1024;

    /// <summary>The test length when no end condition is given (DURATION).</summary>
    public const int DefaultDuration = 10;

    /// <summary>The version this side claims as client_version.</summary>
    public const string ClientVersionText = "3.12";

    /// <summary>"tcp" or "udp" (or, parsed, "sctp", which this side refuses).</summary>
    public Iperf3Protocol Protocol { get; set; } = Iperf3Protocol.Tcp;

    /// <summary>Whether the parsed parameters asked for SCTP, which this side does not carry.</summary>
    public bool Sctp { get; set; }

    /// <summary>"omit" (-O): seconds at the start left out of the results.</summary>
    public int Omit { get; set; }

    /// <summary>"server_affinity" (-A n,m), or -1 when not set.</summary>
    public int ServerAffinity { get; set; } = -1;

    /// <summary>"time" (-t) in seconds; 0 when -n or -k ends the test.</summary>
    public int Duration { get; set; } = DefaultDuration;

    /// <summary>"num" (-n): bytes to send, 0 for none.</summary>
    public long Bytes { get; set; }

    /// <summary>"blockcount" (-k): blocks to send, 0 for none.</summary>
    public long Blocks { get; set; }

    /// <summary>"MSS" (-M), 0 when not set.</summary>
    public int Mss { get; set; }

    /// <summary>"nodelay" (-N).</summary>
    public bool NoDelay { get; set; }

    /// <summary>"parallel" (-P): streams in each direction.</summary>
    public int Parallel { get; set; } = 1;

    /// <summary>"reverse" (-R).</summary>
    public bool Reverse { get; set; }

    /// <summary>"bidirectional" (--bidir).</summary>
    public bool Bidirectional { get; set; }

    /// <summary>"window" (-w): socket buffer size, 0 when not set.</summary>
    public int Window { get; set; }

    /// <summary>"len" (-l): bytes per write (TCP) or per datagram (UDP), 0 when not set.</summary>
    public int Length { get; set; }

    /// <summary>"bandwidth" (-b): bits per second per stream, 0 for unlimited.</summary>
    public long Bandwidth { get; set; }

    /// <summary>"fqrate" (--fq-rate): bits per second, 0 when not set.</summary>
    public long FqRate { get; set; }

    /// <summary>"pacing_timer" (--pacing-timer): microseconds between sends when paced.</summary>
    public int PacingTimer { get; set; } = 1000;

    /// <summary>"burst" (-b RATE/BURST), 0 when not set.</summary>
    public int Burst { get; set; }

    /// <summary>"TOS" (-S), 0 when not set.</summary>
    public int Tos { get; set; }

    /// <summary>"flowlabel" (-L), 0 when not set.</summary>
    public int FlowLabel { get; set; }

    /// <summary>"title" (-T).</summary>
    public string? Title { get; set; }

    /// <summary>"extra_data" (--extra-data).</summary>
    public string? ExtraData { get; set; }

    /// <summary>"congestion" (-C): the congestion control asked for.</summary>
    public string? Congestion { get; set; }

    /// <summary>"congestion_used": the client's data streams' congestion control.</summary>
    public string? CongestionUsed { get; set; }

    /// <summary>"get_server_output" (--get-server-output).</summary>
    public bool GetServerOutput { get; set; }

    /// <summary>"udp_counters_64bit" (--udp-counters-64bit): the UDP header's count is 64 bits.</summary>
    public bool UdpCounters64Bit { get; set; }

    /// <summary>"repeating_payload" (--repeating-payload): blocks are "0123456789..." not random.</summary>
    public bool RepeatingPayload { get; set; }

    /// <summary>"zerocopy" (-Z).</summary>
    public bool ZeroCopy { get; set; }

    /// <summary>"dont_fragment" (--dont-fragment).</summary>
    public bool DontFragment { get; set; }

    /// <summary>"authtoken": the encrypted credentials (this side does not authenticate).</summary>
    public string? AuthToken { get; set; }

    /// <summary>"client_version": absent from clients before 3.1.</summary>
    public string? ClientVersion { get; set; } = ClientVersionText;

    /// <summary>Who sends on the data streams.</summary>
    public Iperf3Direction Direction =>
        Bidirectional ? Iperf3Direction.Bidirectional : Reverse ? Iperf3Direction.Reverse : Iperf3Direction.ClientToServer;

    /// <summary>The block size in effect: <see cref="Length"/>, or iperf3's default for the protocol.</summary>
    public int EffectiveLength => Length > 0 ? Length : Protocol == Iperf3Protocol.Udp ? DefaultUdpLength : DefaultTcpLength;

    /// <summary>Writes the JSON object send_parameters builds, unformatted, without the length prefix.</summary>
    public void WriteJson(IBufferWriter<byte> output)
    {
        using var w = new Utf8JsonWriter(output);
        w.WriteStartObject();
        w.WriteBoolean(Protocol == Iperf3Protocol.Udp ? "udp"u8 : "tcp"u8, true);
        w.WriteNumber("omit"u8, Omit);
        if (ServerAffinity != -1)
            w.WriteNumber("server_affinity"u8, ServerAffinity);
        w.WriteNumber("time"u8, Duration);
        w.WriteNumber("num"u8, Bytes);
        w.WriteNumber("blockcount"u8, Blocks);
        if (Mss != 0)
            w.WriteNumber("MSS"u8, Mss);
        if (NoDelay)
            w.WriteBoolean("nodelay"u8, true);
        w.WriteNumber("parallel"u8, Parallel);
        if (Reverse)
            w.WriteBoolean("reverse"u8, true);
        if (Bidirectional)
            w.WriteBoolean("bidirectional"u8, true);
        if (Window != 0)
            w.WriteNumber("window"u8, Window);
        if (Length != 0)
            w.WriteNumber("len"u8, Length);
        if (Bandwidth != 0)
            w.WriteNumber("bandwidth"u8, Bandwidth);
        if (FqRate != 0)
            w.WriteNumber("fqrate"u8, FqRate);
        if (PacingTimer != 0)
            w.WriteNumber("pacing_timer"u8, PacingTimer);
        if (Burst != 0)
            w.WriteNumber("burst"u8, Burst);
        if (Tos != 0)
            w.WriteNumber("TOS"u8, Tos);
        if (FlowLabel != 0)
            w.WriteNumber("flowlabel"u8, FlowLabel);
        WriteStringIfSet(w, "title"u8, Title);
        WriteStringIfSet(w, "extra_data"u8, ExtraData);
        WriteStringIfSet(w, "congestion"u8, Congestion);
        WriteStringIfSet(w, "congestion_used"u8, CongestionUsed);
        if (GetServerOutput)
            w.WriteNumber("get_server_output"u8, 1);
        if (UdpCounters64Bit)
            w.WriteNumber("udp_counters_64bit"u8, 1);
        if (RepeatingPayload)
            w.WriteNumber("repeating_payload"u8, 1);
        if (ZeroCopy)
            w.WriteNumber("zerocopy"u8, 1);
        if (DontFragment)
            w.WriteNumber("dont_fragment"u8, 1);
        WriteStringIfSet(w, "authtoken"u8, AuthToken);
        WriteStringIfSet(w, "client_version"u8, ClientVersion);
        w.WriteEndObject();
    }

    /// <summary>The JSON text as bytes (tests and logs).</summary>
    public byte[] ToJsonBytes()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        WriteJson(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteStringIfSet(Utf8JsonWriter w, ReadOnlySpan<byte> name, string? value)
    {
        if (value is not null)
            w.WriteString(name, value);
    }

    /// <summary>
    /// Parses the JSON the client sent, as get_parameters does; null and <paramref name="error"/>
    /// when it is not a JSON object. Values get_parameters does not check are checked by
    /// <see cref="Validate"/>.
    /// </summary>
    public static Iperf3Parameters? Parse(ReadOnlySpan<byte> json, out string? error)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray(), Iperf3Json.DocumentOptions);
        }
        catch (JsonException e)
        {
            error = $"parameters: not JSON: {e.Message}";
            return null;
        }
        using (document)
        {
            JsonElement j = document.RootElement;
            if (j.ValueKind != JsonValueKind.Object)
            {
                error = "parameters: not a JSON object";
                return null;
            }
            // get_parameters resets num and blockcount and leaves the rest at the server's defaults.
            var p = new Iperf3Parameters { Bytes = 0, Blocks = 0, ClientVersion = null, PacingTimer = 1000 };
            if (Has(j, "tcp"))
                p.Protocol = Iperf3Protocol.Tcp;
            if (Has(j, "udp"))
                p.Protocol = Iperf3Protocol.Udp;
            if (Has(j, "sctp"))
                p.Sctp = true;
            Int(j, "omit", v => p.Omit = v);
            Int(j, "server_affinity", v => p.ServerAffinity = v);
            Int(j, "time", v => p.Duration = v);
            Long(j, "num", v => p.Bytes = v);
            Long(j, "blockcount", v => p.Blocks = v);
            Int(j, "MSS", v => p.Mss = v);
            p.NoDelay = Has(j, "nodelay");
            Int(j, "parallel", v => p.Parallel = v);
            p.Reverse = Has(j, "reverse");
            p.Bidirectional = Has(j, "bidirectional");
            Int(j, "window", v => p.Window = v);
            Int(j, "len", v => p.Length = v);
            Long(j, "bandwidth", v => p.Bandwidth = v);
            Long(j, "fqrate", v => p.FqRate = v);
            Int(j, "pacing_timer", v => p.PacingTimer = v);
            Int(j, "burst", v => p.Burst = v);
            Int(j, "TOS", v => p.Tos = v);
            Int(j, "flowlabel", v => p.FlowLabel = v);
            p.Title = Str(j, "title");
            p.ExtraData = Str(j, "extra_data");
            p.Congestion = Str(j, "congestion");
            p.CongestionUsed = Str(j, "congestion_used");
            p.GetServerOutput = Has(j, "get_server_output");
            p.UdpCounters64Bit = Has(j, "udp_counters_64bit");
            p.RepeatingPayload = Has(j, "repeating_payload");
            Int(j, "zerocopy", v => p.ZeroCopy = v != 0);
            Int(j, "dont_fragment", v => p.DontFragment = v != 0);
            p.AuthToken = Str(j, "authtoken");
            p.ClientVersion = Str(j, "client_version");
            error = null;
            return p;
        }
    }

    /// <summary>
    /// What this side refuses that iperf3 3.12's server would try: SCTP, no streams or more than
    /// <see cref="MaximumStreams"/>, a block outside the protocol's bounds, a negative count. Null
    /// when the parameters can be served.
    /// </summary>
    public string? Validate()
    {
        if (Sctp)
            return "SCTP is not supported";
        if (Parallel < 1 || Parallel > MaximumStreams)
            return $"number of parallel streams must be 1 to {MaximumStreams}";
        if (Reverse && Bidirectional)
            return "cannot be both reverse and bidirectional";
        if (Length < 0 || Length > MaximumLength)
            return $"block size too large (maximum = {MaximumLength} bytes)";
        if (Protocol == Iperf3Protocol.Udp && Length != 0 && (Length < MinimumUdpLength || Length > MaximumUdpLength))
            return $"block size invalid (minimum = {MinimumUdpLength} bytes, maximum = {MaximumUdpLength} bytes)";
        if (Duration < 0 || Omit < 0 || Bytes < 0 || Blocks < 0 || Bandwidth < 0)
            return "negative time, omit, byte, block or bandwidth count";
        return null;
    }

    private static bool Has(JsonElement j, string name) => Iperf3Json.TryGetItem(j, name, out _);

    private static void Int(JsonElement j, string name, Action<int> set)
    {
        if (Iperf3Json.TryGetItem(j, name, out JsonElement v))
            set(Iperf3Json.ValueInt32(v));
    }

    private static void Long(JsonElement j, string name, Action<long> set)
    {
        if (Iperf3Json.TryGetItem(j, name, out JsonElement v))
            set(Iperf3Json.ValueInt(v));
    }

    private static string? Str(JsonElement j, string name) =>
        Iperf3Json.TryGetItem(j, name, out JsonElement v) ? Iperf3Json.ValueString(v) : null;
}
