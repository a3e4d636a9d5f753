namespace Dataplane.Config;

/// <summary>The <c>app</c> statement: the built-in applications.</summary>
internal sealed partial class ConfigParser
{
    private static readonly string[] ListenOption = ["listen"];
    private static readonly string[] RelayOptions = ["listen", "connect", "mode", "max", "idle"];

    // app iperf3 listen EP
    // app relay tcp|udp listen EP connect EP [mode splice|copy] [max BYTES] [idle SECONDS] (max and idle: tcp)
    // app echo|discard tcp|udp listen EP
    private void ParseApp(string[] t, int line)
    {
        if (t.Length < 2)
        {
            Error(line, $"app: missing kind (expected {Alternatives(AppConfig.KindKeywords)})");
            return;
        }
        int kindIndex = Array.IndexOf(AppConfig.KindKeywords, t[1]);
        if (kindIndex < 0)
        {
            Error(line, $"app: unknown kind '{t[1]}' (expected {Alternatives(AppConfig.KindKeywords)})");
            return;
        }
        var kind = (AppKind)kindIndex;
        string context = $"app {t[1]}";

        // iperf3 runs its control connection and its TCP tests over TCP; the others say which transport.
        AppTransport transport = AppTransport.Tcp;
        int optionsStart = 2;
        if (kind != AppKind.Iperf3)
        {
            if (t.Length < 3)
            {
                Error(line, $"{context}: missing transport (tcp or udp)");
                return;
            }
            int transportIndex = Array.IndexOf(AppConfig.TransportKeywords, t[2]);
            if (transportIndex < 0)
            {
                Error(line, $"{context}: unknown transport '{t[2]}' (expected tcp or udp)");
                return;
            }
            transport = (AppTransport)transportIndex;
            optionsStart = 3;
        }

        if (ReadOptions(t, optionsStart, line, context, kind == AppKind.Relay ? RelayOptions : ListenOption) is not { } options)
            return;
        bool ok = true;
        IpEndpoint listen = default;
        if (!options.TryGetValue("listen", out string? listenText))
            ok = Fail(line, $"{context}: missing 'listen ADDRESS:PORT'");
        else if (!TryEndpoint(listenText, line, context, out listen))
            ok = false;

        IpEndpoint? connect = null;
        RelayMode mode = RelayMode.Splice;
        long maxBytes = 0, idleSeconds = 0;
        if (kind == AppKind.Relay)
        {
            if (!options.TryGetValue("connect", out string? connectText))
            {
                ok = Fail(line, $"{context}: missing 'connect ADDRESS:PORT'");
            }
            else if (TryEndpoint(connectText, line, context, out IpEndpoint far))
            {
                if (far.Address.IsUnspecified || far.Address.IsMulticast || far.Address.IsBroadcast)
                    ok = Fail(line, $"{context}: connect address '{far.Address}' is not a unicast address");
                connect = far;
            }
            else
            {
                ok = false;
            }
            if (options.TryGetValue("mode", out string? modeText))
            {
                int modeIndex = Array.IndexOf(AppConfig.ModeKeywords, modeText);
                if (modeIndex < 0)
                    ok = Fail(line, $"{context}: unknown mode '{modeText}' (expected splice or copy)");
                else
                    mode = (RelayMode)modeIndex;
            }
            if (options.TryGetValue("max", out string? maxText) && !TryWhole(maxText, 1, long.MaxValue, out maxBytes))
                ok = Fail(line, $"{context}: max must be a whole number of bytes from 1, not '{maxText}'");
            if (options.TryGetValue("idle", out string? idleText) && !TryWhole(idleText, 1, 86_400, out idleSeconds))
                ok = Fail(line, $"{context}: idle must be a whole number of seconds from 1 to 86400, not '{idleText}'");
            if (transport == AppTransport.Udp && (maxText is not null || idleText is not null))
                ok = Fail(line, $"{context}: max and idle are for tcp relays (a udp relay's sessions end after 60 s without a datagram)");
        }
        if (ok)
            _apps.Add(new AppConfig(kind, transport, listen, connect, mode, line) { MaxBytes = maxBytes, IdleSeconds = idleSeconds });
    }

    private static bool TryWhole(string text, long min, long max, out long value) =>
        long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value) && value >= min && value <= max;
}
