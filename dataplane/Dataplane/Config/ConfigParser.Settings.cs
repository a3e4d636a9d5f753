using System.Collections.Immutable;

namespace Dataplane.Config;

/// <summary>The <c>set</c> statement.</summary>
internal sealed partial class ConfigParser
{
    private const string CpuListForm = "numbers and ranges, e.g. 0-1 or 0,2,4-7";

    // set forwarding|tso|lro on|off, set cores LIST, set tcp connections N, set tcp buffer BYTES, set tcp congestion cubic|newreno
    private void ParseSet(string[] t, int line)
    {
        if (t.Length < 2)
        {
            Error(line, $"set: missing key (expected {Alternatives(SettingConfig.Keywords)})");
            return;
        }
        if (t[1] == "tcp")
        {
            // Two-word keys: "tcp connections" is one key, followed by its value.
            if (t.Length < 3)
            {
                Error(line, "set tcp: missing key (expected connections, buffer or congestion)");
                return;
            }
            t = ["set", $"tcp {t[2]}", .. t[3..]];
        }
        int index = Array.IndexOf(SettingConfig.Keywords, t[1]);
        if (index < 0)
        {
            Error(line, $"set: unknown key '{t[1]}' (expected {Alternatives(SettingConfig.Keywords)})");
            return;
        }
        var key = (SettingKey)index;
        string context = $"set {t[1]}";
        if (!_settingLines.TryAdd(key, line))
        {
            Error(line, $"{context}: already set on line {_settingLines[key]}");
            return;
        }
        bool numeric = key is SettingKey.TcpConnections or SettingKey.TcpBuffer;
        if (t.Length < 3)
        {
            Error(line, key == SettingKey.Cores ? $"{context}: missing CPU list ({CpuListForm})"
                : numeric ? $"{context}: missing value (a number)"
                : key == SettingKey.TcpCongestion ? $"{context}: missing value (expected {Alternatives(SettingConfig.CongestionKeywords)})"
                : $"{context}: missing value (on or off)");
            return;
        }
        if (TooManyArguments(t, 3, line, context, "value"))
            return;
        if (key == SettingKey.TcpCongestion)
        {
            int algorithm = Array.IndexOf(SettingConfig.CongestionKeywords, t[2]);
            if (algorithm < 0)
            {
                Error(line, $"{context}: unknown value '{t[2]}' (expected {Alternatives(SettingConfig.CongestionKeywords)})");
                return;
            }
            _settings.Add(new SettingConfig(key, false, [], line, algorithm));
            return;
        }
        if (numeric)
        {
            (long min, long max) = key == SettingKey.TcpBuffer ? (SettingConfig.MinTcpBuffer, SettingConfig.MaxTcpBuffer) : (1L, SettingConfig.MaxTcpConnections);
            if (!long.TryParse(t[2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long number) || number < min || number > max)
            {
                Error(line, $"{context}: value '{t[2]}' must be a whole number from {min} to {max}");
                return;
            }
            _settings.Add(new SettingConfig(key, false, [], line, number));
            return;
        }

        string value = t[2];
        if (key == SettingKey.Cores)
        {
            if (TryCpuList(value, line, context, out ImmutableArray<int> cores))
                _settings.Add(new SettingConfig(key, false, cores, line));
            return;
        }
        if (value is not ("on" or "off"))
        {
            Error(line, $"{context}: value '{value}' must be on or off");
            return;
        }
        _settings.Add(new SettingConfig(key, value == "on", [], line));
    }

    /// <summary>A comma-separated list of CPU numbers and FIRST-LAST ranges; no CPU twice.</summary>
    private bool TryCpuList(string text, int line, string context, out ImmutableArray<int> cpus)
    {
        cpus = [];
        var seen = new SortedSet<int>();
        foreach (string item in text.Split(','))
        {
            int dash = item.IndexOf('-');
            string firstText = dash < 0 ? item : item[..dash];
            string lastText = dash < 0 ? item : item[(dash + 1)..];
            if (!TryNumber(firstText, out int first) || !TryNumber(lastText, out int last))
                return Fail(line, $"{context}: bad CPU list '{text}' ({CpuListForm})");
            if (first > SettingConfig.MaxCpu)
                return Fail(line, $"{context}: CPU '{firstText}' out of range 0-{SettingConfig.MaxCpu}");
            if (last > SettingConfig.MaxCpu)
                return Fail(line, $"{context}: CPU '{lastText}' out of range 0-{SettingConfig.MaxCpu}");
            if (last < first)
                return Fail(line, $"{context}: range '{item}' runs backwards");
            for (int cpu = first; cpu <= last; cpu++)
            {
                if (!seen.Add(cpu))
                    return Fail(line, $"{context}: CPU {cpu} listed twice");
            }
        }
        cpus = [.. seen];
        return true;
    }
}
