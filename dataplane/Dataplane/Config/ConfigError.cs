namespace Dataplane.Config;

/// <summary>One problem in a config file, at the line that has it.</summary>
/// <param name="File">The file name as the user gave it.</param>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Message">What is wrong, quoting the offending token.</param>
internal sealed record ConfigError(string File, int Line, string Message)
{
    /// <summary>FILE:LINE: message, the form compilers use so editors can jump to it.</summary>
    public override string ToString() => $"{File}:{Line}: {Message}";
}
