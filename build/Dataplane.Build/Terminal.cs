namespace Dataplane.Build;

/// <summary>How build.sh talks: <c>==&gt; step</c> lines in bold, notes in yellow, failures in red; no colors in CI, with NO_COLOR or into a file.</summary>
internal sealed class Terminal(string bold, string red, string green, string yellow, string reset)
{
    public string Bold { get; } = bold;

    public string Red { get; } = red;

    public string Green { get; } = green;

    public string Yellow { get; } = yellow;

    public string Reset { get; } = reset;

    /// <summary>The colors for standard output, by build.sh's rule.</summary>
    public static Terminal ForOutput() =>
        Environment.GetEnvironmentVariable("CI") != "true" && !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null
            ? new Terminal("\e[1m", "\e[31m", "\e[32m", "\e[33m", "\e[0m")
            : new Terminal("", "", "", "", "");

    /// <summary>Announces a step.</summary>
    public void Step(string what) => Console.Out.WriteLine($"{Bold}==> {what}{Reset}");

    /// <summary>Says something worth a look.</summary>
    public void Note(string what) => Console.Out.WriteLine($"{Yellow}{what}{Reset}");

    /// <summary>Says why it stops, on standard error; exit status 1.</summary>
    public int Die(string why)
    {
        Console.Error.WriteLine($"{Red}build.sh: {why}{Reset}");
        return 1;
    }
}
