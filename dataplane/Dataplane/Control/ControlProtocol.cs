namespace Dataplane.Control;

/// <summary>How a reply's first line says how the command went.</summary>
internal enum ControlStatus
{
    /// <summary>The rest of the reply is the command's output.</summary>
    Ok,

    /// <summary>The command is known but its subsystem is not there yet; the rest says what lands it.</summary>
    Unavailable,

    /// <summary>The server could not run the command; the rest says why.</summary>
    Error,
}

/// <summary>A reply to one control request.</summary>
internal readonly record struct ControlReply(ControlStatus Status, string Text);

/// <summary>
/// The control socket's protocol: the client sends one line, the command's words separated by
/// spaces, and shuts its side; the server answers with a status line (<c>ok</c>,
/// <c>unavailable</c> or <c>error</c>), then the text, and closes. One request per connection,
/// like a CGI: nothing to keep in step, and <c>socat - UNIX-CONNECT:PATH</c> is a client.
/// </summary>
internal static class ControlProtocol
{
    /// <summary>The longest request line the server reads.</summary>
    public const int MaxRequest = 4096;

    /// <summary>The status line of <paramref name="status"/>.</summary>
    public static string StatusWord(ControlStatus status) => status switch
    {
        ControlStatus.Ok => "ok",
        ControlStatus.Unavailable => "unavailable",
        _ => "error",
    };

    /// <summary>The whole reply as sent on the socket.</summary>
    public static string Format(ControlReply reply) => StatusWord(reply.Status) + "\n" + reply.Text;

    /// <summary>Splits a received reply into its status and text; an unknown status line is an error.</summary>
    public static ControlReply Parse(string received)
    {
        int newline = received.IndexOf('\n', StringComparison.Ordinal);
        string word = newline < 0 ? received : received[..newline];
        string text = newline < 0 ? "" : received[(newline + 1)..];
        return word switch
        {
            "ok" => new(ControlStatus.Ok, text),
            "unavailable" => new(ControlStatus.Unavailable, text),
            "error" => new(ControlStatus.Error, text),
            _ => new(ControlStatus.Error, $"unexpected reply from the control socket: '{word}'"),
        };
    }
}
