using Dataplane.Config;
using Dataplane.Runtime;

namespace Dataplane.Tests.Runtime;

public class DataplaneHostTests
{
    private static DataplaneConfig Parse(string text)
    {
        ConfigResult result = ConfigParser.Parse("test.conf", text);
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        return result.Config;
    }

    [Fact]
    public void Run_starts_the_workers_on_the_ports_and_prints_the_counters_when_stopped()
    {
        DataplaneConfig config = Parse("port m0 driver memory queues 2\nport m1 driver memory\nset cores 0-1\n");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        int code = new DataplaneHost(config, stdout, stderr).Run(stop.Token);

        Assert.Equal(0, code);
        Assert.Equal("", stderr.ToString());
        string output = stdout.ToString();
        Assert.Contains("dataplane: running: 2 ports, 2 workers on cpus 0,1", output);
        Assert.Contains("m0 queue 1: rx 0 packets", output);
        Assert.DoesNotContain("icmp6:", output); // no inet6 address, no IPv6 on the port: not even DAD
        Assert.Contains("worker 1: received 0", output);
    }

    [Fact]
    public void A_core_the_process_may_not_use_is_refused_before_anything_starts()
    {
        DataplaneConfig config = Parse("port m0 driver memory\nset cores 1000\n");
        var stderr = new StringWriter();

        int code = new DataplaneHost(config, new StringWriter(), stderr).Run(CancellationToken.None);

        Assert.Equal(1, code);
        Assert.StartsWith("dataplane: set cores: cpu 1000 is not available to this process", stderr.ToString());
    }
}
