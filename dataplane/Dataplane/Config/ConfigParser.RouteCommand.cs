using System.Diagnostics.CodeAnalysis;

namespace Dataplane.Config;

/// <summary>
/// The route statements for <c>ctl route</c>: the words a config line would have, parsed by the same
/// code and rules, one command at a time.
/// </summary>
internal sealed partial class ConfigParser
{
    /// <summary>
    /// Parses <c>route add [-inet | -inet6] DESTINATION GATEWAY</c> (<paramref name="words"/>[0] is
    /// "route", [1] is "add"); false with the message of the first problem.
    /// </summary>
    public static bool TryParseRouteAdd(IReadOnlyList<string> words, [NotNullWhen(true)] out RouteConfig? route, [NotNullWhen(false)] out string? error)
    {
        var parser = new ConfigParser("ctl");
        bool ok = parser.TryRouteAdd([.. words], 1, out route);
        error = ok ? null : parser._errors[0].Message;
        return ok;
    }

    /// <summary>
    /// Parses <c>route delete [-inet | -inet6] DESTINATION</c> (<paramref name="words"/>[0] is
    /// "route", [1] is "delete"); false with the message of the first problem.
    /// </summary>
    public static bool TryParseRouteDelete(IReadOnlyList<string> words, out IpPrefix destination, [NotNullWhen(false)] out string? error)
    {
        var parser = new ConfigParser("ctl");
        bool ok = parser.TryRouteDelete([.. words], 1, out destination);
        error = ok ? null : parser._errors[0].Message;
        return ok;
    }
}
