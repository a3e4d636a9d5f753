using System.Collections.Immutable;

namespace Dataplane.Config;

/// <summary>
/// Reads the line-oriented config: one statement a line, <c>#</c> to the end of the line is a
/// comment, tokens split on whitespace. The first pass parses each line on its own; the second
/// (<c>ConfigParser.References.cs</c>) checks what spans lines, so a name may be used before the
/// line that defines it. Bad input never throws: it becomes a <see cref="ConfigError"/>.
/// </summary>
internal sealed partial class ConfigParser
{
    /// <summary>Every statement keyword, in the order messages list them.</summary>
    public static readonly string[] Statements = ["port", "inet", "inet6", "route", "set", "mtu", "vlan", "app"];

    private readonly string _file;
    private readonly List<ConfigError> _errors = [];
    private readonly List<PortConfig> _ports = [];
    private readonly List<InterfaceAddress> _addresses = [];
    private readonly List<RouteConfig> _routes = [];
    private readonly List<SettingConfig> _settings = [];
    private readonly List<MtuConfig> _mtus = [];
    private readonly List<VlanConfig> _vlans = [];
    private readonly List<AppConfig> _apps = [];

    // Every port and vlan name a statement declared, valid or not, with its line: a port whose
    // statement has an error is still known, so the lines that use it do not each add an error.
    private readonly Dictionary<string, (string Kind, int Line)> _names = new(StringComparer.Ordinal);

    // Families with an inet/inet6 statement that did not parse: reachability and listen checks
    // in such a family would only echo that one error.
    private readonly HashSet<IpFamily> _brokenFamilies = [];

    private readonly Dictionary<SettingKey, int> _settingLines = [];

    private ConfigParser(string file) => _file = file;

    /// <summary>Parses <paramref name="text"/>; <paramref name="file"/> names it in the errors.</summary>
    public static ConfigResult Parse(string file, string text)
    {
        var parser = new ConfigParser(file);
        // Lines end at '\n' only, as editors and 'wc -l' count them; a '\r' before it is whitespace.
        int line = 0;
        foreach (Range range in text.AsSpan().Split('\n'))
        {
            line++;
            string[] tokens = Tokenize(text.AsSpan()[range]);
            if (tokens.Length > 0)
                parser.ParseStatement(tokens, line);
        }
        parser.CheckReferences();
        var config = new DataplaneConfig([.. parser._ports], [.. parser._addresses], [.. parser._routes], [.. parser._settings], [.. parser._mtus], [.. parser._vlans], [.. parser._apps]);
        // OrderBy is stable: errors of one line keep the order they were found in.
        return new ConfigResult(config, [.. parser._errors.OrderBy(e => e.Line)]);
    }

    /// <summary>Splits a line into tokens, dropping the comment that <c>#</c> starts.</summary>
    public static string[] Tokenize(ReadOnlySpan<char> line)
    {
        int hash = line.IndexOf('#');
        if (hash >= 0)
            line = line[..hash];
        var tokens = new List<string>();
        int i = 0;
        while (i < line.Length)
        {
            while (i < line.Length && char.IsWhiteSpace(line[i]))
                i++;
            int start = i;
            while (i < line.Length && !char.IsWhiteSpace(line[i]))
                i++;
            if (i > start)
                tokens.Add(line[start..i].ToString());
        }
        return [.. tokens];
    }

    private void ParseStatement(string[] t, int line)
    {
        switch (t[0])
        {
            case "port": ParsePort(t, line); break;
            case "inet": ParseAddress(t, line, IpFamily.Inet); break;
            case "inet6": ParseAddress(t, line, IpFamily.Inet6); break;
            case "route": ParseRoute(t, line); break;
            case "set": ParseSet(t, line); break;
            case "mtu": ParseMtu(t, line); break;
            case "vlan": ParseVlan(t, line); break;
            case "app": ParseApp(t, line); break;
            default: Error(line, $"unknown statement '{Shorten(t[0])}' (expected {Alternatives(Statements)})"); break;
        }
    }

    // Control characters become '?': a binary file given by mistake must not drive the terminal.
    private void Error(int line, string message)
        => _errors.Add(new ConfigError(_file, line, string.Create(message.Length, message, static (d, m) =>
        {
            for (int i = 0; i < m.Length; i++)
                d[i] = char.IsControl(m[i]) ? '?' : m[i];
        })));

    /// <summary>A token cut to a length that fits a message line.</summary>
    private static string Shorten(string token) => token.Length <= 40 ? token : token[..40] + "...";

    /// <summary>"a, b, c or d", for the lists of accepted words in messages.</summary>
    internal static string Alternatives(IReadOnlyList<string> words)
        => words.Count == 1 ? words[0] : string.Join(", ", words.Take(words.Count - 1)) + " or " + words[^1];

    /// <summary>
    /// Reads <c>KEY VALUE</c> pairs from <paramref name="start"/>, for statements whose options come
    /// in any order. Null when any pair is bad; each bad pair has its error.
    /// </summary>
    private Dictionary<string, string>? ReadOptions(string[] t, int start, int line, string context, string[] keys)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        bool ok = true;
        for (int i = start; i < t.Length; i += 2)
        {
            string key = t[i];
            if (Array.IndexOf(keys, key) < 0)
            {
                Error(line, $"{context}: unknown option '{key}' (expected {Alternatives(keys)})");
                ok = false;
            }
            else if (i + 1 >= t.Length)
            {
                Error(line, $"{context}: missing value after '{key}'");
                ok = false;
            }
            else if (!values.TryAdd(key, t[i + 1]))
            {
                Error(line, $"{context}: '{key}' given twice");
                ok = false;
            }
        }
        return ok ? values : null;
    }

    /// <summary>Decimal digits only; a number too long for an int reads as int.MaxValue, out of any range.</summary>
    private static bool TryNumber(ReadOnlySpan<char> s, out int value)
    {
        value = 0;
        if (s.IsEmpty || s.ContainsAnyExceptInRange('0', '9'))
            return false;
        s = s.TrimStart('0');
        if (s.Length > 9)
        {
            value = int.MaxValue;
            return true;
        }
        foreach (char c in s)
            value = value * 10 + (c - '0');
        return true;
    }

    private bool Number(string s, int min, int max, int line, string context, string what, out int value)
    {
        if (!TryNumber(s, out value))
        {
            Error(line, $"{context}: {what} '{s}' is not a number");
            return false;
        }
        if (value < min || value > max)
        {
            Error(line, $"{context}: {what} '{s}' out of range {min}-{max}");
            return false;
        }
        return true;
    }

    /// <summary>Port and vlan names: a letter, then letters, digits, '_', '.' or '-'; at most 15 characters.</summary>
    internal static bool IsName(string s)
    {
        if (s.Length is 0 or > 15 || !char.IsAsciiLetter(s[0]))
            return false;
        foreach (char c in s)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '.' or '-'))
                return false;
        }
        return true;
    }

    /// <summary>Linux's dev_valid_name: 1 to 15 characters, not . or .., no '/', ':' or whitespace.</summary>
    internal static bool IsLinuxInterfaceName(string s)
    {
        if (s.Length is 0 or > 15 || s is "." or "..")
            return false;
        foreach (char c in s)
        {
            if (c is '/' or ':' || char.IsWhiteSpace(c) || char.IsControl(c))
                return false;
        }
        return true;
    }

    private const string NameRule = "a letter, then letters, digits, '_', '.' or '-'; at most 15 characters";

    /// <summary>
    /// Records a port or vlan name. False, with an error, when the name is not valid or already
    /// taken; a taken name keeps its first declaration.
    /// </summary>
    private bool DeclareName(string name, string kind, int line)
    {
        if (!IsName(name))
        {
            Error(line, $"{kind} name '{name}' is not valid ({NameRule})");
            _names.TryAdd(name, (kind, line));
            return false;
        }
        if (_names.TryGetValue(name, out var first))
        {
            Error(line, $"{kind} '{name}': the name is already used by the {first.Kind} on line {first.Line}");
            return false;
        }
        _names.Add(name, (kind, line));
        return true;
    }

    /// <summary>ADDRESS/LENGTH, or ADDRESS alone (a host prefix) unless <paramref name="lengthRequired"/>.</summary>
    private bool TryPrefix(string text, int line, string context, bool lengthRequired, out IpPrefix prefix)
    {
        prefix = default;
        int slash = text.IndexOf('/');
        string addressText = slash < 0 ? text : text[..slash];
        if (!IpAddress.TryParse(addressText, out IpAddress address))
        {
            Error(line, $"{context}: bad address '{addressText}'");
            return false;
        }
        if (slash < 0)
        {
            if (lengthRequired)
            {
                Error(line, $"{context}: '{text}' has no prefix length (write ADDRESS/LENGTH, e.g. {text}/{(address.Family == IpFamily.Inet ? 24 : 64)})");
                return false;
            }
            prefix = new IpPrefix(address, address.BitLength);
            return true;
        }
        string lengthText = text[(slash + 1)..];
        if (!TryNumber(lengthText, out int length))
        {
            Error(line, $"{context}: bad prefix length '{lengthText}' in '{text}'");
            return false;
        }
        if (length > address.BitLength)
        {
            Error(line, $"{context}: prefix length '{lengthText}' out of range 0-{address.BitLength} for {address.Family.Protocol()}");
            return false;
        }
        prefix = new IpPrefix(address, length);
        return true;
    }

    /// <summary>ADDRESS:PORT, or [ADDRESS]:PORT for IPv6; the port 1 to 65535.</summary>
    private bool TryEndpoint(string text, int line, string context, out IpEndpoint endpoint)
    {
        endpoint = default;
        string addressText;
        string portText;
        int colon = text.LastIndexOf(':');
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 != colon)
                return BadEndpoint(text, line, context);
            addressText = text[1..close];
            portText = text[(colon + 1)..];
        }
        else
        {
            if (colon < 0 || text.IndexOf(':') != colon)
                return BadEndpoint(text, line, context); // a bare IPv6 address would leave the port ambiguous
            addressText = text[..colon];
            portText = text[(colon + 1)..];
        }
        if (!IpAddress.TryParse(addressText, out IpAddress address) || (address.Family == IpFamily.Inet6) != text.StartsWith('['))
        {
            Error(line, $"{context}: bad address '{addressText}' in '{text}'");
            return false;
        }
        if (!Number(portText, 1, 65535, line, context, "port", out int port))
            return false;
        endpoint = new IpEndpoint(address, port);
        return true;
    }

    private bool BadEndpoint(string text, int line, string context)
    {
        Error(line, $"{context}: bad endpoint '{text}' (expected ADDRESS:PORT, or [ADDRESS]:PORT for IPv6)");
        return false;
    }

    private bool TooManyArguments(string[] t, int count, int line, string context, string after)
    {
        if (t.Length <= count)
            return false;
        Error(line, $"{context}: unexpected '{t[count]}' after the {after}");
        return true;
    }
}
