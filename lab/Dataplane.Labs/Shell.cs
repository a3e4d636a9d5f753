namespace Dataplane.Labs;

/// <summary>A lab could not be built or a system under test could not be started: its tests do not run.</summary>
public sealed class LabException(string message) : Exception(message);

/// <summary>Shell quoting for command lines built from names and addresses.</summary>
public static class Shell
{
    /// <summary><paramref name="s"/> as one word for <c>sh</c>.</summary>
    public static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=@,%+".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";
}

/// <summary>Lines of one host or process in a shared log, each marked with where it runs (<c>[left] </c>).</summary>
internal sealed class PrefixedWriter(TextWriter inner, string prefix) : TextWriter
{
    /// <inheritdoc/>
    public override System.Text.Encoding Encoding => inner.Encoding;

    /// <inheritdoc/>
    public override void WriteLine(string? value) => inner.WriteLine(prefix + value);

    /// <inheritdoc/>
    public override void Write(char value) => inner.Write(value);
}

