using Dataplane.Conformance.Labs;
using Dataplane.Labs;

namespace Dataplane.Conformance.Tests.Labs;

public sealed class SshHostTests
{
    private const string RemoteLab = """
        lab bare
        host left  ssh root@lt13 ifname ix0
        host right ssh root@lt16 ifname ix1
        sut        ssh root@ot14
        drivers    afpacket
        port left  ifname enp1s0f0
        port right ifname enp1s0f1
        """;

    private static LabDefinition? Parse(string text, out List<string> errors)
    {
        errors = [];
        return LabParser.Parse("t.lab", text.Split('\n'), errors);
    }

    [Fact]
    public void Ssh_option_words_go_to_every_ssh_call_before_the_target()
    {
        LabDefinition lab = Parse(RemoteLab + "\nssh-option -F /etc/lab/ssh_config\nssh-option -o Port=2222  # the lab's sshd\n", out List<string> errors)!;
        Assert.Empty(errors);
        Assert.Equal(["-F", "/etc/lab/ssh_config", "-o", "Port=2222"], lab.SshOptions);

        var host = new SshHost("left", "root@lt13", lab.SshOptions, "/tmp/dataplane-conformance-dplc1");
        (string file, string[] arguments) = host.Wrap("ip addr add 10.10.11.1/24 dev ix0 && echo 'done'");

        Assert.Equal("ssh", file);
        Assert.Equal([.. SshHost.Options, "-F", "/etc/lab/ssh_config", "-o", "Port=2222", "root@lt13"], arguments[..^1]);
        Assert.Equal("sh -c 'ip addr add 10.10.11.1/24 dev ix0 && echo '\\''done'\\'''", arguments[^1]);
    }

    [Fact]
    public void A_lab_without_ssh_options_takes_sshs_defaults()
    {
        Assert.Empty(Parse(RemoteLab, out List<string> errors)!.SshOptions);
        Assert.Empty(errors);
    }

    [Fact]
    public void Ssh_option_is_a_mistake_without_words_or_without_remote_machines()
    {
        Assert.Null(Parse("lab n\nhost left netns\nhost right netns\nsut netns\ndrivers tap\nssh-option -F x\n", out List<string> errors));
        Assert.Contains(errors, e => e.Contains("ssh-option is for labs with remote machines", StringComparison.Ordinal));
        Assert.Null(Parse(RemoteLab + "\nssh-option\n", out errors));
        Assert.Contains(errors, e => e.StartsWith("t.lab:8: usage: ssh-option", StringComparison.Ordinal));
    }

    [Fact]
    public void A_remote_system_under_test_needs_remote_hosts_cabled_to_its_ports()
    {
        Assert.Null(Parse("lab r\nhost left netns\nhost right netns\nsut ssh c\ndrivers afpacket\nport left ifname a\nport right ifname b\n", out List<string> errors));
        Assert.Contains(errors, e => e.Contains("a remote system under test needs remote hosts", StringComparison.Ordinal));
    }
}
