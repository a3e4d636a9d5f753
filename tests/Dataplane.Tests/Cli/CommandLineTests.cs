using Dataplane.Cli;

namespace Dataplane.Tests.Cli;

/// <summary>The dataplane command line, run in-process: exit codes and what goes to stdout and stderr.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        int code = CommandLine.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private const string GoodConfig = """
        port left  driver tap ifname dpl0 queues 2
        port right driver afpacket ifname dpr0 queues 2
        inet  left  10.10.11.2/24
        inet6 left  fdd7:e83e:66bd:1011::2/64
        inet  right 10.10.12.3/24
        route add default 10.10.12.4
        route add 10.20.0.0/16 10.10.12.4
        app iperf3 listen 10.10.11.2:5201
        app echo udp listen 10.10.11.2:7
        app relay tcp listen 10.10.11.2:8080 connect 10.10.12.4:5201 mode splice
        """;

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("help")]
    public void Help_lists_every_command_on_stdout_and_exits_0(string flag)
    {
        var (code, stdout, stderr) = Run(flag);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.StartsWith("usage: dataplane COMMAND [OPTIONS]\n", stdout, StringComparison.Ordinal);
        foreach (string command in new[] { "run", "check", "ctl", "version", "help" })
            Assert.Matches($"(?m)^  {command}\\b.* [a-z].*$", stdout);
        Assert.Contains("Exit status: 0 ok, 1 runtime failure, 2 usage or config error.", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void No_arguments_prints_usage_to_stderr_and_exits_2()
    {
        var (code, stdout, stderr) = Run();
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("usage: dataplane COMMAND [OPTIONS]\n", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("version")]
    [InlineData("--version")]
    public void Version_prints_version_runtime_and_platform(string command)
    {
        var (code, stdout, stderr) = Run(command);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        string[] lines = stdout.TrimEnd('\n').Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.Equal("dataplane 0.1.0", lines[0]);
        Assert.StartsWith("runtime: .NET ", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("os: ", lines[2], StringComparison.Ordinal);
        Assert.EndsWith(", " + System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant(), lines[2], StringComparison.Ordinal);
        Assert.Equal("pgo: dynamic (the JIT's own counts)", lines[3]); // the tests run under the JIT
    }

    [Fact]
    public void Check_of_a_good_config_prints_the_summary_and_exits_0()
    {
        string path = Write("good.conf", GoodConfig);
        var (code, stdout, stderr) = Run("check", "-c", path);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Equal($"{path}: ok (2 ports, 3 addresses, 2 routes, 3 apps)\n", stdout);
    }

    [Theory]
    [InlineData("--config", "{0}")]
    [InlineData("--config={0}")]
    [InlineData("-c{0}")]
    public void Check_takes_the_config_option_in_every_form(params string[] args)
    {
        string path = Write("good.conf", GoodConfig);
        var (code, _, _) = Run(["check", .. args.Select(a => string.Format(System.Globalization.CultureInfo.InvariantCulture, a, path))]);
        Assert.Equal(0, code);
    }

    [Fact]
    public void Check_summary_counts_in_the_singular_for_one()
    {
        string path = Write("one.conf", "port p driver memory\ninet p 10.0.0.1/24\nroute add default 10.0.0.2\napp echo udp listen 10.0.0.1:7\n");
        Assert.Equal($"{path}: ok (1 port, 1 address, 1 route, 1 app)\n", Run("check", "-c", path).Out);
    }

    [Fact]
    public void Check_of_a_bad_config_prints_every_error_in_line_order_and_exits_2()
    {
        string path = Write("bad.conf", "port left driver tap\nmtu left 9000\nset cores 2-1\nfrobnicate\nroute add default 10.9.9.9\n");
        var (code, stdout, stderr) = Run("check", "-c", path);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal(
            $"{path}:1: port left: driver tap needs 'ifname IFNAME'\n" +
            $"{path}:3: set cores: range '2-1' runs backwards\n" +
            $"{path}:4: unknown statement 'frobnicate' (expected port, inet, inet6, route, set, mtu, vlan or app)\n" +
            $"{path}:5: route add: gateway 10.9.9.9 is not on any connected network (no inet prefix contains it)\n",
            stderr);
    }

    [Fact]
    public void Check_of_a_missing_file_says_it_cannot_read_it_and_exits_2()
    {
        string path = Path.Combine(_dir, "absent.conf");
        var (code, stdout, stderr) = Run("check", "-c", path);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal($"dataplane: cannot read {path}: no such file or directory\n", stderr);
    }

    [Fact]
    public void Check_of_a_directory_says_it_is_a_directory_and_exits_2()
    {
        var (code, _, stderr) = Run("check", "-c", _dir);
        Assert.Equal(2, code);
        Assert.Equal($"dataplane: cannot read {_dir}: is a directory\n", stderr);
    }

    [Fact]
    public void Check_without_a_config_is_a_usage_error()
    {
        var (code, stdout, stderr) = Run("check");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal("dataplane: check needs a config file: -c FILE\ntry 'dataplane check --help'\n", stderr);
    }

    [Theory]
    [InlineData("dataplane: option '-c' needs a value (FILE)\n", "check", "-c")]
    [InlineData("dataplane: option '-c' given twice\n", "check", "-c", "a", "-c", "b")]
    [InlineData("dataplane: unexpected argument 'extra.conf'\n", "check", "-c", "a", "extra.conf")]
    [InlineData("dataplane: unknown option '-x'\n", "check", "-x")]
    [InlineData("dataplane: unknown option '--verbose'\n", "check", "--verbose")]
    [InlineData("dataplane: option '--help' takes no value\n", "check", "--help=yes")]
    public void Bad_options_of_a_command_are_usage_errors_that_point_to_its_help(string message, params string[] args)
    {
        var (code, stdout, stderr) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal(message + "try 'dataplane check --help'\n", stderr);
    }

    [Theory]
    [InlineData("dataplane: unknown command 'frob'\n", "frob")]
    [InlineData("dataplane: unknown option '-x'\n", "-x")]
    [InlineData("dataplane: unknown option '--verbose'\n", "--verbose", "check")]
    [InlineData("dataplane: unknown command 'frob'\n", "help", "frob")]
    [InlineData("dataplane: unexpected argument 'now'\n", "version", "now")]
    public void Unknown_command_or_option_is_a_usage_error_that_points_to_the_help(string message, params string[] args)
    {
        var (code, stdout, stderr) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        string hint = args[0] == "version" ? "try 'dataplane version --help'\n" : "try 'dataplane --help'\n";
        Assert.Equal(message + hint, stderr);
    }

    [Fact]
    public void Run_with_a_vfio_port_on_a_pci_address_that_does_not_exist_names_the_port_and_the_address_and_starts_nothing()
    {
        string path = Write("vfio.conf", "port m0 driver memory\nport v0 driver vfio pci 0000:7f:1f.7\n");
        var (code, stdout, stderr) = Run("run", "-c", path);
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal("dataplane: port v0: vfio on PCI 0000:7f:1f.7: no such PCI function (not in /sys/bus/pci/devices; lspci -D lists them)\n", stderr);
    }

    [Fact]
    public void Run_of_a_bad_config_prints_its_errors_and_exits_2()
    {
        string path = Write("bad.conf", "port left driver tap\n");
        var (code, stdout, stderr) = Run("run", "-c", path);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal($"{path}:1: port left: driver tap needs 'ifname IFNAME'\n", stderr);
    }

    [Fact]
    public void Run_without_a_config_is_a_usage_error()
        => Assert.Equal((2, "", "dataplane: run needs a config file: -c FILE\ntry 'dataplane run --help'\n"), Run("run"));

    [Theory]
    [InlineData("ifconfig")]
    [InlineData("netstat", "-s")]
    [InlineData("netstat", "-an")]
    [InlineData("route", "show")]
    [InlineData("route", "add", "default", "10.0.0.1")]
    [InlineData("route", "delete", "-inet6", "fd00::/64")]
    [InlineData("arp", "-a")]
    [InlineData("ndp", "-a")]
    [InlineData("stats", "--json")]
    [InlineData("capture", "left", "left.pcapng")]
    [InlineData("capture", "left", "left.pcapng", "100")]
    public void Ctl_commands_are_recognised_and_with_no_dataplane_running_exit_1(params string[] command)
    {
        string socket = Path.Combine(_dir, "none.sock");
        var (code, stdout, stderr) = Run(["ctl", "-s", socket, .. command]);
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.StartsWith($"dataplane: no dataplane is running on {socket} (connect: ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Ctl_socket_option_has_a_long_form()
    {
        string socket = Path.Combine(_dir, "none.sock");
        var (code, _, stderr) = Run("ctl", $"--socket={socket}", "netstat", "-s");
        Assert.Equal(1, code);
        Assert.StartsWith($"dataplane: no dataplane is running on {socket} (connect: ", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dataplane: ctl needs a command, e.g. 'dataplane ctl ifconfig'\n")]
    [InlineData("dataplane: unknown ctl command 'reboot'\n", "reboot")]
    [InlineData("dataplane: ctl netstat: missing argument (expected 'netstat -s' or 'netstat -an')\n", "netstat")]
    [InlineData("dataplane: ctl netstat: unexpected '-rn' (expected 'netstat -s' or 'netstat -an')\n", "netstat", "-rn")]
    [InlineData("dataplane: ctl route: unknown command 'flush' (expected add, delete or show)\n", "route", "flush")]
    [InlineData("dataplane: ctl capture needs PORT and FILE: capture PORT FILE.pcapng [COUNT]\n", "capture", "left")]
    [InlineData("dataplane: ctl capture: COUNT 'many' is not a positive number\n", "capture", "left", "a.pcapng", "many")]
    [InlineData("dataplane: ctl capture: COUNT '0' is not a positive number\n", "capture", "left", "a.pcapng", "0")]
    [InlineData("dataplane: ctl capture: unexpected argument 'x'\n", "capture", "left", "a.pcapng", "1", "x")]
    [InlineData("dataplane: option '-s' needs a value (PATH)\n", "-s")]
    [InlineData("dataplane: unknown option '-x'\n", "-x", "ifconfig")]
    public void Ctl_with_a_bad_command_is_a_usage_error(string message, params string[] ctlArgs)
    {
        var (code, stdout, stderr) = Run(["ctl", .. ctlArgs]);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal(message + "try 'dataplane ctl --help'\n", stderr);
    }

    [Theory]
    [InlineData("check", "usage: dataplane check -c FILE\n", new[] { "-c, --config FILE", "-h, --help", "port NAME driver", "set cores LIST", "app relay tcp|udp" })]
    [InlineData("run", "usage: dataplane run -c FILE [-s PATH]\n", new[] { "-c, --config FILE", "-s, --socket PATH", "-h, --help", "SIGINT or SIGTERM" })]
    [InlineData("ctl", "usage: dataplane ctl [-s PATH] COMMAND\n", new[] { "-s, --socket PATH", "-h, --help", "ifconfig", "netstat -s", "netstat -an", "route show", "arp -a", "ndp -a", "stats --json", "capture PORT FILE.pcapng [COUNT]" })]
    [InlineData("version", "usage: dataplane version\n", new[] { "-h, --help" })]
    public void Command_help_documents_every_option_and_exits_0(string command, string usage, string[] mentions)
    {
        foreach (string[] args in new[] { new[] { command, "--help" }, [command, "-h"], ["help", command], ["--help", command] })
        {
            var (code, stdout, stderr) = Run(args);
            Assert.Equal(0, code);
            Assert.Equal("", stderr);
            Assert.StartsWith(usage, stdout, StringComparison.Ordinal);
            foreach (string mention in mentions)
                Assert.Contains(mention, stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Help_wins_over_the_other_options_of_a_command()
        => Assert.Equal(0, Run("check", "-c", "/nonexistent", "--help").Code);

    [Fact]
    public void Ctl_help_after_the_command_words_still_shows_the_help()
        => Assert.Equal(0, Run("ctl", "netstat", "--help").Code);

    [Theory]
    [InlineData("dataplane.conf")]
    [InlineData("dataplane-afxdp.conf")]
    public void The_example_configs_check_clean(string file)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "examples", file);
        var (code, stdout, stderr) = Run("check", "-c", path);
        Assert.Equal("", stderr);
        Assert.Equal(0, code);
        Assert.Equal($"{path}: ok (2 ports, 4 addresses, 2 routes, 2 apps)\n", stdout);
    }
}
