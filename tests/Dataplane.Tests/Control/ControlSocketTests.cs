using System.Net.Sockets;

namespace Dataplane.Tests.Control;

/// <summary>The control socket's life: where and how run serves it, and what ctl says when it cannot reach it.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ControlSocketTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dpctl-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string SocketPath => Path.Combine(_dir, "dp.sock");

    [Fact]
    public void The_socket_is_mode_0600_while_running_and_removed_on_stop()
    {
        using var host = new RunningHost(SocketPath);
        Assert.True(host.WaitServing(), host.Stderr.ToString());

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(SocketPath));

        Assert.Equal(0, host.Stop());
        Assert.False(File.Exists(SocketPath));
        Assert.Equal("", host.Stderr.ToString());
        Assert.Contains("dataplane: stopped; counters:", host.Stdout.ToString());
    }

    [Fact]
    public void Ctl_with_nothing_listening_exits_1_and_says_so()
    {
        var (code, stdout, stderr) = RunningHost.Ctl("-s", SocketPath, "ifconfig");

        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal($"dataplane: no dataplane is running on {SocketPath} (connect: No such file or directory)\n", stderr);
    }

    [Fact]
    public void Ctl_to_a_socket_file_nothing_listens_on_exits_1_and_says_the_connection_was_refused()
    {
        MakeStaleSocket();

        var (code, stdout, stderr) = RunningHost.Ctl("-s", SocketPath, "netstat", "-s");

        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal($"dataplane: no dataplane is running on {SocketPath} (connect: Connection refused)\n", stderr);
    }

    /// <summary>
    /// Leaves a socket file whose socket is gone at <see cref="SocketPath"/>, as a crash leaves it.
    /// .NET unlinks what a socket bound when it is disposed, so bind elsewhere and move the file.
    /// </summary>
    private void MakeStaleSocket()
    {
        string elsewhere = Path.Combine(_dir, "elsewhere.sock");
        using (var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            stale.Bind(new UnixDomainSocketEndPoint(elsewhere));
            File.Move(elsewhere, SocketPath);
        }
        Assert.True(File.Exists(SocketPath));
    }

    [Fact]
    public void A_stale_socket_file_nothing_listens_on_is_replaced()
    {
        MakeStaleSocket();

        using var host = new RunningHost(SocketPath);
        Assert.True(host.WaitServing(), host.Stderr.ToString());
        Assert.Equal(0, RunningHost.Ctl("-s", SocketPath, "ifconfig").Code);
        Assert.Equal(0, host.Stop());
    }

    [Fact]
    public void A_second_instance_on_the_same_socket_exits_1_and_leaves_the_first_serving()
    {
        using var first = new RunningHost(SocketPath);
        Assert.True(first.WaitServing(), first.Stderr.ToString());

        using var second = new RunningHost(SocketPath);
        Assert.Equal(1, second.Stop());
        Assert.Equal($"dataplane: cannot serve the control socket {SocketPath}: another dataplane is listening on it\n", second.Stderr.ToString());

        Assert.Equal(0, RunningHost.Ctl("-s", SocketPath, "ifconfig").Code);
        Assert.Equal(0, first.Stop());
    }

    [Fact]
    public void A_socket_in_a_missing_directory_cannot_be_bound_and_run_exits_1()
    {
        string path = Path.Combine(_dir, "missing", "dp.sock");

        using var host = new RunningHost(path);

        Assert.False(host.WaitServing());
        Assert.Equal(1, host.ExitCode);
        Assert.StartsWith($"dataplane: cannot serve the control socket {path}: ", host.Stderr.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.GetDirectoryName(path)));
    }

    [Fact]
    public void A_file_that_is_not_a_socket_is_left_alone_and_run_exits_1()
    {
        File.WriteAllText(SocketPath, "precious\n");

        using var host = new RunningHost(SocketPath);

        Assert.False(host.WaitServing());
        Assert.Equal(1, host.ExitCode);
        Assert.Equal($"dataplane: cannot serve the control socket {SocketPath}: a file that is not a socket is in the way\n", host.Stderr.ToString());
        Assert.Equal("precious\n", File.ReadAllText(SocketPath));
    }
}
