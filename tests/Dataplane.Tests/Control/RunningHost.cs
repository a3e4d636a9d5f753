using Dataplane.Cli;
using Dataplane.Config;
using Dataplane.Runtime;

namespace Dataplane.Tests.Control;

/// <summary>A <see cref="DataplaneHost"/> running on memory ports in a thread of the test, serving a control socket.</summary>
internal sealed class RunningHost : IDisposable
{
    public const string TwoPorts = "port m0 driver memory queues 2\nport m1 driver memory\nset cores 0-1\n";

    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;

    public RunningHost(string socket, string config = TwoPorts)
    {
        ConfigResult parsed = ConfigParser.Parse("test.conf", config);
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors));
        Socket = socket;
        Host = new DataplaneHost(parsed.Config, Stdout, Stderr, socket);
        _thread = new Thread(() => ExitCode = Host.Run(_stop.Token)) { IsBackground = true };
        _thread.Start();
    }

    public string Socket { get; }

    /// <summary>The host, for its ports once it serves.</summary>
    public DataplaneHost Host { get; }

    /// <summary>What the host printed; read it only after <see cref="Stop"/>.</summary>
    public StringWriter Stdout { get; } = new() { NewLine = "\n" };

    public StringWriter Stderr { get; } = new() { NewLine = "\n" };

    public int? ExitCode { get; private set; }

    /// <summary>Whether the host is still running (it has neither stopped nor died).</summary>
    public bool IsRunning => _thread.IsAlive;

    /// <summary>Waits until the host accepts connections on its socket (true) or has exited (false); a minute at most, a bound for a loaded machine.</summary>
    public bool WaitServing()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (!_thread.IsAlive)
            {
                _thread.Join(); // so ExitCode and the writers are seen whole
                return false;
            }
            using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
            try
            {
                probe.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(Socket));
                return true;
            }
            catch (System.Net.Sockets.SocketException)
            {
            }
            Thread.Sleep(10);
        }
        throw new TimeoutException("the host did not start within 60 s");
    }

    /// <summary>Stops the host (if it has not stopped by itself) and returns its exit code.</summary>
    public int Stop()
    {
        _stop.Cancel();
        Assert.True(_thread.Join(TimeSpan.FromSeconds(60)), "the host did not stop within 60 s");
        return ExitCode!.Value;
    }

    public void Dispose()
    {
        if (_thread.IsAlive)
            Stop();
        _stop.Dispose();
    }

    /// <summary>Runs <c>dataplane ARGS</c> in-process.</summary>
    public static (int Code, string Out, string Err) Ctl(params string[] args)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        int code = CommandLine.Run(["ctl", .. args], stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
