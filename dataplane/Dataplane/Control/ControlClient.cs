using System.Net.Sockets;
using System.Text;
using Dataplane.Cli;

namespace Dataplane.Control;

/// <summary>The ctl side of the control socket: sends one command, prints the reply.</summary>
internal static class ControlClient
{
    /// <summary>How long ctl waits for a running dataplane to answer.</summary>
    private const int TimeoutMilliseconds = 10_000;

    /// <summary>
    /// Sends <paramref name="words"/> to the dataplane serving <paramref name="path"/>: the reply goes
    /// to stdout and exits 0; a command not there yet exits 2; no server, or a failure, exits 1.
    /// </summary>
    public static int Run(string path, IReadOnlyList<string> words, TextWriter stdout, TextWriter stderr, int timeoutMilliseconds = TimeoutMilliseconds)
    {
        string line = string.Join(' ', words);
        string received;
        using (var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                socket.Connect(new UnixDomainSocketEndPoint(path));
            }
            catch (Exception e) when (e is SocketException or ArgumentException)
            {
                stderr.WriteLine($"dataplane: no dataplane is running on {path} (connect: {Reason(e, path)})");
                return ExitCodes.Failure;
            }
            try
            {
                socket.ReceiveTimeout = timeoutMilliseconds;
                socket.SendTimeout = timeoutMilliseconds;
                socket.Send(Encoding.UTF8.GetBytes(line + "\n"));
                socket.Shutdown(SocketShutdown.Send);
                received = ReadToEnd(socket);
            }
            catch (SocketException e)
            {
                stderr.WriteLine($"dataplane: ctl {line}: the dataplane on {path} did not answer ({e.Message})");
                return ExitCodes.Failure;
            }
        }
        ControlReply reply = ControlProtocol.Parse(received);
        switch (reply.Status)
        {
            case ControlStatus.Ok:
                stdout.Write(reply.Text);
                stdout.Flush();
                return ExitCodes.Ok;
            case ControlStatus.Unavailable:
                stderr.WriteLine($"dataplane: ctl {line}: {reply.Text.TrimEnd('\n')}");
                return ExitCodes.Usage;
            default:
                stderr.WriteLine($"dataplane: ctl {line}: {reply.Text.TrimEnd('\n')}");
                return ExitCodes.Failure;
        }
    }

    /// <summary>Why a connect failed, in the words of strerror: .NET reports ENOENT as "Cannot assign requested address".</summary>
    private static string Reason(Exception e, string path) => e switch
    {
        SocketException { SocketErrorCode: SocketError.AddressNotAvailable } when !File.Exists(path) => "No such file or directory",
        SocketException { SocketErrorCode: SocketError.ConnectionRefused } => "Connection refused",
        SocketException { SocketErrorCode: SocketError.AccessDenied } => "Permission denied",
        ArgumentException => "the path is too long for a Unix socket",
        _ => e.Message,
    };

    private static string ReadToEnd(Socket socket)
    {
        using var received = new MemoryStream();
        byte[] buffer = new byte[16 * 1024];
        int n;
        while ((n = socket.Receive(buffer)) > 0)
            received.Write(buffer, 0, n);
        return Encoding.UTF8.GetString(received.GetBuffer(), 0, (int)received.Length);
    }
}
