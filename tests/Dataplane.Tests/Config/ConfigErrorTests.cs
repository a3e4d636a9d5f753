using Dataplane.Config;

namespace Dataplane.Tests.Config;

/// <summary>Every error the parser reports, one bad line at a time, as the exact FILE:LINE: message.</summary>
public class ConfigErrorTests
{
    // Lines 1-6: two ports with an address of each family; the statement under test is line 7.
    private const string Lab = """
        port left  driver memory
        port right driver memory
        inet  left  10.10.11.2/24
        inet  right 10.10.12.3/24
        inet6 left  fdd7:e83e:66bd:1011::2/64
        inet6 right fdd7:e83e:66bd:1012::3/64

        """;

    internal static string[] Errors(string text) => [.. ConfigParser.Parse("t.conf", text).Errors.Select(e => e.ToString())];

    private static void AssertOneError(string statement, string expected)
    {
        string[] errors = Errors(Lab + statement + "\n");
        Assert.Equal([expected], errors);
    }

    [Theory]
    [InlineData("interface left", "t.conf:7: unknown statement 'interface' (expected port, inet, inet6, route, set, mtu, vlan or app)")]
    [InlineData("Port x driver memory", "t.conf:7: unknown statement 'Port' (expected port, inet, inet6, route, set, mtu, vlan or app)")]
    public void Unknown_statement_is_named(string statement, string expected) => AssertOneError(statement, expected);

    [Theory]
    [InlineData("port", "t.conf:7: port: missing name (port NAME driver DRIVER ...)")]
    [InlineData("port p0", "t.conf:7: port p0: missing 'driver' (memory, tap, afpacket, afxdp or vfio)")]
    [InlineData("port p0 driver", "t.conf:7: port p0: missing value after 'driver'")]
    [InlineData("port p0 driver tap", "t.conf:7: port p0: driver tap needs 'ifname IFNAME'")]
    [InlineData("port p0 driver afpacket", "t.conf:7: port p0: driver afpacket needs 'ifname IFNAME'")]
    [InlineData("port p0 driver afxdp", "t.conf:7: port p0: driver afxdp needs 'ifname IFNAME'")]
    [InlineData("port p0 driver vfio", "t.conf:7: port p0: driver vfio needs 'pci DDDD:BB:DD.F'")]
    [InlineData("port p0 driver memory ifname eth0", "t.conf:7: port p0: driver memory takes no 'ifname'")]
    [InlineData("port p0 driver vfio pci 0000:00:03.0 ifname eth0", "t.conf:7: port p0: driver vfio takes no 'ifname'")]
    [InlineData("port p0 driver tap ifname tap0 pci 0000:00:03.0", "t.conf:7: port p0: driver tap takes no 'pci'")]
    [InlineData("port p0 driver memory queues 2 queues 3", "t.conf:7: port p0: 'queues' given twice")]
    [InlineData("port p0 driver memory speed 10g", "t.conf:7: port p0: unknown option 'speed' (expected driver, ifname, pci, queues, tso or lro)")]
    [InlineData("port p0 driver memory tso maybe", "t.conf:7: port p0: tso 'maybe' must be on or off")]
    [InlineData("port p0 driver memory lro ON", "t.conf:7: port p0: lro 'ON' must be on or off")]
    [InlineData("port p0 driver memory lro", "t.conf:7: port p0: missing value after 'lro'")]
    [InlineData("port p0 driver memory tso off tso on", "t.conf:7: port p0: 'tso' given twice")]
    public void Port_with_missing_or_extra_arguments_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Theory]
    [InlineData("port p0 driver e1000", "t.conf:7: port p0: unknown driver 'e1000' (expected memory, tap, afpacket, afxdp or vfio)")]
    [InlineData("port 0p driver memory", "t.conf:7: port name '0p' is not valid (a letter, then letters, digits, '_', '.' or '-'; at most 15 characters)")]
    [InlineData("port p/0 driver memory", "t.conf:7: port name 'p/0' is not valid (a letter, then letters, digits, '_', '.' or '-'; at most 15 characters)")]
    [InlineData("port abcdefghijklmnop driver memory", "t.conf:7: port name 'abcdefghijklmnop' is not valid (a letter, then letters, digits, '_', '.' or '-'; at most 15 characters)")]
    [InlineData("port p0 driver tap ifname abcdefghijklmnop", "t.conf:7: port p0: interface name 'abcdefghijklmnop' is not valid (1-15 characters, not '.' or '..', no '/', ':' or whitespace)")]
    [InlineData("port p0 driver tap ifname eth0:1", "t.conf:7: port p0: interface name 'eth0:1' is not valid (1-15 characters, not '.' or '..', no '/', ':' or whitespace)")]
    [InlineData("port p0 driver tap ifname a/b", "t.conf:7: port p0: interface name 'a/b' is not valid (1-15 characters, not '.' or '..', no '/', ':' or whitespace)")]
    [InlineData("port p0 driver tap ifname ..", "t.conf:7: port p0: interface name '..' is not valid (1-15 characters, not '.' or '..', no '/', ':' or whitespace)")]
    [InlineData("port p0 driver vfio pci 00:03.0", "t.conf:7: port p0: PCI address '00:03.0' is not valid (expected DDDD:BB:DD.F in hex, e.g. 0000:00:03.0)")]
    [InlineData("port p0 driver vfio pci 0000:00:20.0", "t.conf:7: port p0: PCI address '0000:00:20.0' is not valid (expected DDDD:BB:DD.F in hex, e.g. 0000:00:03.0)")]
    [InlineData("port p0 driver vfio pci 0000:00:03.8", "t.conf:7: port p0: PCI address '0000:00:03.8' is not valid (expected DDDD:BB:DD.F in hex, e.g. 0000:00:03.0)")]
    [InlineData("port p0 driver vfio pci 0000:0g:03.0", "t.conf:7: port p0: PCI address '0000:0g:03.0' is not valid (expected DDDD:BB:DD.F in hex, e.g. 0000:00:03.0)")]
    [InlineData("port p0 driver memory queues 0", "t.conf:7: port p0: queues '0' out of range 1-64")]
    [InlineData("port p0 driver memory queues 65", "t.conf:7: port p0: queues '65' out of range 1-64")]
    [InlineData("port p0 driver memory queues 99999999999", "t.conf:7: port p0: queues '99999999999' out of range 1-64")]
    [InlineData("port p0 driver memory queues two", "t.conf:7: port p0: queues 'two' is not a number")]
    [InlineData("port p0 driver memory queues -1", "t.conf:7: port p0: queues '-1' is not a number")]
    public void Port_with_a_bad_value_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Theory]
    [InlineData("port left driver memory", "t.conf:7: port 'left': the name is already used by the port on line 1")]
    [InlineData("vlan left parent right vnetid 5", "t.conf:7: vlan 'left': the name is already used by the port on line 1")]
    public void Duplicate_port_or_vlan_name_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Fact]
    public void Port_name_taken_by_an_earlier_vlan_is_an_error()
        => AssertOneError("vlan v5 parent left vnetid 5\nport v5 driver memory", "t.conf:8: port 'v5': the name is already used by the vlan on line 7");

    [Fact]
    public void Two_ports_on_one_linux_interface_is_an_error()
        => AssertOneError("port a driver tap ifname dpl0\nport b driver afpacket ifname dpl0", "t.conf:8: port b: interface 'dpl0' is already taken by port 'a' on line 7");

    [Fact]
    public void Two_ports_on_one_pci_function_is_an_error()
        => AssertOneError("port a driver vfio pci 0000:00:03.0\nport b driver vfio pci 0000:00:03.0", "t.conf:8: port b: PCI device 0000:00:03.0 is already taken by port 'a' on line 7");

    [Theory]
    [InlineData("inet", "t.conf:7: inet: missing interface and address (inet NAME ADDRESS/LENGTH)")]
    [InlineData("inet left", "t.conf:7: inet left: missing address (ADDRESS/LENGTH)")]
    [InlineData("inet left 10.10.11.9/24 alias", "t.conf:7: inet left: unexpected 'alias' after the address")]
    [InlineData("inet6", "t.conf:7: inet6: missing interface and address (inet6 NAME ADDRESS/LENGTH)")]
    public void Address_with_missing_or_extra_arguments_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Theory]
    [InlineData("inet left 10.10.11.256/24", "t.conf:7: inet left: bad address '10.10.11.256'")]
    [InlineData("inet left 10.10.011.9/24", "t.conf:7: inet left: bad address '10.10.011.9'")]
    [InlineData("inet left 10.10.11.9", "t.conf:7: inet left: '10.10.11.9' has no prefix length (write ADDRESS/LENGTH, e.g. 10.10.11.9/24)")]
    [InlineData("inet left 10.10.11.9/33", "t.conf:7: inet left: prefix length '33' out of range 0-32 for IPv4")]
    [InlineData("inet left 10.10.11.9/x", "t.conf:7: inet left: bad prefix length 'x' in '10.10.11.9/x'")]
    [InlineData("inet left 10.10.11.9/", "t.conf:7: inet left: bad prefix length '' in '10.10.11.9/'")]
    [InlineData("inet left fdd7::9/64", "t.conf:7: inet left: 'fdd7::9/64' is an IPv6 address; use inet6")]
    [InlineData("inet left 0.0.0.0/8", "t.conf:7: inet left: '0.0.0.0/8' is not a unicast address")]
    [InlineData("inet left 224.0.0.1/4", "t.conf:7: inet left: '224.0.0.1/4' is not a unicast address")]
    [InlineData("inet6 left fdd7::9/129", "t.conf:7: inet6 left: prefix length '129' out of range 0-128 for IPv6")]
    [InlineData("inet6 left fdd7:::9/64", "t.conf:7: inet6 left: bad address 'fdd7:::9'")]
    [InlineData("inet6 left fdd7::9%eth0/64", "t.conf:7: inet6 left: bad address 'fdd7::9%eth0'")]
    [InlineData("inet6 left 10.10.11.9/24", "t.conf:7: inet6 left: '10.10.11.9/24' is an IPv4 address; use inet")]
    [InlineData("inet6 left ff02::1/64", "t.conf:7: inet6 left: 'ff02::1/64' is not a unicast address")]
    public void Bad_address_or_prefix_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Theory]
    [InlineData("inet left 10.10.11.2/16", "t.conf:7: inet left: duplicate address 10.10.11.2 (first on line 3)")]
    [InlineData("inet right 10.10.11.2/24", "t.conf:7: inet right: address 10.10.11.2 is already on 'left' (line 3)")]
    [InlineData("inet6 left fdd7:e83e:66bd:1011:0::2/64", "t.conf:7: inet6 left: duplicate address fdd7:e83e:66bd:1011::2 (first on line 5)")]
    public void Duplicate_address_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Theory]
    [InlineData("inet lfet 10.10.11.9/24", "t.conf:7: inet: undefined port or vlan 'lfet'")]
    [InlineData("inet6 lfet fdd7::9/64", "t.conf:7: inet6: undefined port or vlan 'lfet'")]
    [InlineData("mtu lfet 1500", "t.conf:7: mtu: undefined port or vlan 'lfet'")]
    [InlineData("vlan v5 parent lfet vnetid 5", "t.conf:7: vlan v5: undefined parent port 'lfet'")]
    public void Reference_to_an_undefined_port_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Theory]
    [InlineData("route", "t.conf:7: route: missing 'add' (route add [-inet6] DESTINATION GATEWAY)")]
    [InlineData("route delete default", "t.conf:7: route: unknown command 'delete' (a config only adds routes: route add [-inet6] DESTINATION GATEWAY)")]
    [InlineData("route add", "t.conf:7: route add: missing destination and gateway")]
    [InlineData("route add -inet6", "t.conf:7: route add -inet6: missing destination and gateway")]
    [InlineData("route add default", "t.conf:7: route add: missing gateway")]
    [InlineData("route add default 10.10.12.4 metric", "t.conf:7: route add: unexpected 'metric' after the gateway")]
    [InlineData("route add -link default 10.10.12.4", "t.conf:7: route add: unknown flag '-link' (expected -inet or -inet6)")]
    public void Route_with_missing_or_extra_arguments_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Theory]
    [InlineData("route add 10.20.0.0/33 10.10.12.4", "t.conf:7: route add: prefix length '33' out of range 0-32 for IPv4")]
    [InlineData("route add 10.20.0/16 10.10.12.4", "t.conf:7: route add: bad address '10.20.0'")]
    [InlineData("route add 10.20.1.0/16 10.10.12.4", "t.conf:7: route add: destination '10.20.1.0/16' has host bits set (the network is 10.20.0.0/16)")]
    [InlineData("route add -inet6 fdd7:1::1/48 fdd7:e83e:66bd:1012::4", "t.conf:7: route add -inet6: destination 'fdd7:1::1/48' has host bits set (the network is fdd7:1::/48)")]
    [InlineData("route add 10.20.0.0/16 10.10.12.x", "t.conf:7: route add: bad gateway '10.10.12.x'")]
    [InlineData("route add 10.20.0.0/16 224.0.0.1", "t.conf:7: route add: gateway '224.0.0.1' is not a unicast address")]
    public void Route_with_a_bad_address_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Theory]
    [InlineData("route add default fdd7:e83e:66bd:1012::4", "t.conf:7: route add: gateway 'fdd7:e83e:66bd:1012::4' is IPv6 but the route is IPv4 (write 'route add -inet6 default fdd7:e83e:66bd:1012::4')")]
    [InlineData("route add -inet6 default 10.10.12.4", "t.conf:7: route add -inet6: gateway '10.10.12.4' is IPv4 but the route is IPv6")]
    [InlineData("route add 10.20.0.0/16 fdd7:e83e:66bd:1012::4", "t.conf:7: route add: gateway 'fdd7:e83e:66bd:1012::4' is IPv6 but the route is IPv4")]
    [InlineData("route add fdd7:1::/48 10.10.12.4", "t.conf:7: route add: gateway '10.10.12.4' is IPv4 but the route is IPv6")]
    [InlineData("route add -inet6 10.20.0.0/16 fdd7:e83e:66bd:1012::4", "t.conf:7: route add -inet6: destination '10.20.0.0/16' is not an IPv6 prefix")]
    [InlineData("route add -inet fdd7:1::/48 10.10.12.4", "t.conf:7: route add -inet: destination 'fdd7:1::/48' is not an IPv4 prefix")]
    public void Route_gateway_of_the_wrong_family_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Theory]
    [InlineData("route add default 10.10.13.4", "t.conf:7: route add: gateway 10.10.13.4 is not on any connected network (no inet prefix contains it)")]
    [InlineData("route add -inet6 default fdd7:e83e:66bd:1013::4", "t.conf:7: route add -inet6: gateway fdd7:e83e:66bd:1013::4 is not on any connected network (no inet6 prefix contains it)")]
    [InlineData("route add 10.20.0.0/16 10.10.12.3", "t.conf:7: route add: gateway 10.10.12.3 is a local address (on 'right', line 4)")]
    public void Route_gateway_off_every_connected_prefix_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Theory]
    [InlineData("route add default 10.10.12.4\nroute add default 10.10.11.1", "t.conf:8: route add: second inet default route (first on line 7)")]
    [InlineData("route add -inet6 default fdd7:e83e:66bd:1012::4\nroute add -inet6 default fdd7:e83e:66bd:1011::1", "t.conf:8: route add -inet6: second inet6 default route (first on line 7)")]
    [InlineData("route add 10.20.0.0/16 10.10.12.4\nroute add 10.20.0.0/16 10.10.11.1", "t.conf:8: route add: duplicate route to 10.20.0.0/16 (first on line 7)")]
    public void Second_route_to_one_destination_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Fact]
    public void One_default_route_of_each_family_is_fine()
        => Assert.Empty(Errors(Lab + "route add default 10.10.12.4\nroute add -inet6 default fdd7:e83e:66bd:1012::4\n"));

    [Theory]
    [InlineData("set", "t.conf:7: set: missing key (expected forwarding, cores, tso, lro, tcp connections, tcp buffer or tcp congestion)")]
    [InlineData("set tcp connections 0", "t.conf:7: set tcp connections: value '0' must be a whole number from 1 to 16000000")]
    [InlineData("set tcp buffer 100", "t.conf:7: set tcp buffer: value '100' must be a whole number from 4096 to 1073741824")]
    [InlineData("set tcp buffer", "t.conf:7: set tcp buffer: missing value (a number)")]
    [InlineData("set tcp congestion vegas", "t.conf:7: set tcp congestion: unknown value 'vegas' (expected cubic or newreno)")]
    [InlineData("set tcp", "t.conf:7: set tcp: missing key (expected connections, buffer or congestion)")]
    [InlineData("set ttl 64", "t.conf:7: set: unknown key 'ttl' (expected forwarding, cores, tso, lro, tcp connections, tcp buffer or tcp congestion)")]
    [InlineData("set forwarding", "t.conf:7: set forwarding: missing value (on or off)")]
    [InlineData("set cores", "t.conf:7: set cores: missing CPU list (numbers and ranges, e.g. 0-1 or 0,2,4-7)")]
    [InlineData("set tso on off", "t.conf:7: set tso: unexpected 'off' after the value")]
    [InlineData("set lro yes", "t.conf:7: set lro: value 'yes' must be on or off")]
    [InlineData("set forwarding ON", "t.conf:7: set forwarding: value 'ON' must be on or off")]
    public void Set_with_a_bad_key_or_value_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Theory]
    [InlineData("set cores 0-", "t.conf:7: set cores: bad CPU list '0-' (numbers and ranges, e.g. 0-1 or 0,2,4-7)")]
    [InlineData("set cores 0,,1", "t.conf:7: set cores: bad CPU list '0,,1' (numbers and ranges, e.g. 0-1 or 0,2,4-7)")]
    [InlineData("set cores all", "t.conf:7: set cores: bad CPU list 'all' (numbers and ranges, e.g. 0-1 or 0,2,4-7)")]
    [InlineData("set cores 1024", "t.conf:7: set cores: CPU '1024' out of range 0-1023")]
    [InlineData("set cores 0-2000", "t.conf:7: set cores: CPU '2000' out of range 0-1023")]
    [InlineData("set cores 3-1", "t.conf:7: set cores: range '3-1' runs backwards")]
    [InlineData("set cores 0-3,2", "t.conf:7: set cores: CPU 2 listed twice")]
    public void Set_cores_with_a_bad_list_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Theory]
    [InlineData("set tso on\nset tso off", "t.conf:8: set tso: already set on line 7")]
    [InlineData("set cores 0\nset cores 1", "t.conf:8: set cores: already set on line 7")]
    public void Second_set_of_one_key_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Theory]
    [InlineData("mtu", "t.conf:7: mtu: missing interface and value (mtu NAME BYTES)")]
    [InlineData("mtu right", "t.conf:7: mtu right: missing value")]
    [InlineData("mtu right 9000 jumbo", "t.conf:7: mtu right: unexpected 'jumbo' after the value")]
    [InlineData("mtu right 67", "t.conf:7: mtu right: value '67' out of range 68-65535")]
    [InlineData("mtu right 65536", "t.conf:7: mtu right: value '65536' out of range 68-65535")]
    [InlineData("mtu right 9k", "t.conf:7: mtu right: value '9k' is not a number")]
    [InlineData("mtu right 1279", "t.conf:7: mtu right: value '1279' is below 1280, the IPv6 minimum ('right' has inet6 on line 6)")]
    [InlineData("mtu right 9000\nmtu right 1500", "t.conf:8: mtu right: already set on line 7")]
    public void Mtu_with_a_bad_value_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Theory]
    [InlineData("vlan", "t.conf:7: vlan: missing name (vlan NAME parent PORT vnetid ID)")]
    [InlineData("vlan v5 vnetid 5", "t.conf:7: vlan v5: missing 'parent PORT'")]
    [InlineData("vlan v5 parent left", "t.conf:7: vlan v5: missing 'vnetid ID' (1-4094)")]
    [InlineData("vlan v5 parent left vnetid", "t.conf:7: vlan v5: missing value after 'vnetid'")]
    [InlineData("vlan v5 parent left vnetid 0", "t.conf:7: vlan v5: vnetid '0' out of range 1-4094")]
    [InlineData("vlan v5 parent left vnetid 4095", "t.conf:7: vlan v5: vnetid '4095' out of range 1-4094")]
    [InlineData("vlan v5 parent left vnetid 5 vlanpcp 3", "t.conf:7: vlan v5: unknown option 'vlanpcp' (expected parent or vnetid)")]
    [InlineData("vlan v5 parent left vnetid 5\nvlan v6 parent left vnetid 5", "t.conf:8: vlan v6: vnetid 5 on 'left' is already taken by vlan 'v5' on line 7")]
    [InlineData("vlan v5 parent left vnetid 5\nvlan v6 parent v5 vnetid 6", "t.conf:8: vlan v6: parent 'v5' is a vlan; the parent must be a port")]
    public void Vlan_with_a_bad_argument_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Fact]
    public void Same_vnetid_on_two_parents_is_fine()
        => Assert.Empty(Errors(Lab + "vlan v5 parent left vnetid 5\nvlan v6 parent right vnetid 5\n"));

    [Theory]
    [InlineData("app", "t.conf:7: app: missing kind (expected iperf3, relay, echo or discard)")]
    [InlineData("app chargen udp listen 10.10.11.2:19", "t.conf:7: app: unknown kind 'chargen' (expected iperf3, relay, echo or discard)")]
    [InlineData("app iperf3", "t.conf:7: app iperf3: missing 'listen ADDRESS:PORT'")]
    [InlineData("app iperf3 listen", "t.conf:7: app iperf3: missing value after 'listen'")]
    [InlineData("app iperf3 listen 10.10.11.2:5201 connect 10.10.12.4:5201", "t.conf:7: app iperf3: unknown option 'connect' (expected listen)")]
    [InlineData("app echo", "t.conf:7: app echo: missing transport (tcp or udp)")]
    [InlineData("app echo sctp listen 10.10.11.2:7", "t.conf:7: app echo: unknown transport 'sctp' (expected tcp or udp)")]
    [InlineData("app discard udp", "t.conf:7: app discard: missing 'listen ADDRESS:PORT'")]
    [InlineData("app relay tcp listen 10.10.11.2:8080", "t.conf:7: app relay: missing 'connect ADDRESS:PORT'")]
    [InlineData("app relay tcp listen 10.10.11.2:8080 connect 10.10.12.4:80 mode zerocopy", "t.conf:7: app relay: unknown mode 'zerocopy' (expected splice or copy)")]
    [InlineData("app relay tcp listen 10.10.11.2:8080 connect 10.10.12.4:80 max 0", "t.conf:7: app relay: max must be a whole number of bytes from 1, not '0'")]
    [InlineData("app relay tcp listen 10.10.11.2:8080 connect 10.10.12.4:80 idle 1.5", "t.conf:7: app relay: idle must be a whole number of seconds from 1 to 86400, not '1.5'")]
    [InlineData("app relay udp listen 10.10.11.2:53 connect 10.10.12.4:53 idle 5", "t.conf:7: app relay: max and idle are for tcp relays (a udp relay's sessions end after 60 s without a datagram)")]
    public void App_with_missing_or_extra_arguments_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Theory]
    [InlineData("app echo udp listen 10.10.11.2", "t.conf:7: app echo: bad endpoint '10.10.11.2' (expected ADDRESS:PORT, or [ADDRESS]:PORT for IPv6)")]
    [InlineData("app echo udp listen fdd7:e83e:66bd:1011::2:7", "t.conf:7: app echo: bad endpoint 'fdd7:e83e:66bd:1011::2:7' (expected ADDRESS:PORT, or [ADDRESS]:PORT for IPv6)")]
    [InlineData("app echo udp listen [fdd7:e83e:66bd:1011::2]7", "t.conf:7: app echo: bad endpoint '[fdd7:e83e:66bd:1011::2]7' (expected ADDRESS:PORT, or [ADDRESS]:PORT for IPv6)")]
    [InlineData("app echo udp listen [10.10.11.2]:7", "t.conf:7: app echo: bad address '10.10.11.2' in '[10.10.11.2]:7'")]
    [InlineData("app echo udp listen 10.10.11.300:7", "t.conf:7: app echo: bad address '10.10.11.300' in '10.10.11.300:7'")]
    [InlineData("app echo udp listen 10.10.11.2:0", "t.conf:7: app echo: port '0' out of range 1-65535")]
    [InlineData("app echo udp listen 10.10.11.2:65536", "t.conf:7: app echo: port '65536' out of range 1-65535")]
    [InlineData("app echo udp listen 10.10.11.2:echo", "t.conf:7: app echo: port 'echo' is not a number")]
    [InlineData("app relay udp listen 10.10.11.2:53 connect 0.0.0.0:53", "t.conf:7: app relay: connect address '0.0.0.0' is not a unicast address")]
    public void App_with_a_bad_endpoint_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Theory]
    [InlineData("app iperf3 listen 10.10.11.9:5201", "t.conf:7: app iperf3: listen address 10.10.11.9 is not configured on any interface (use an inet or inet6 address, 0.0.0.0 or ::)")]
    [InlineData("app echo tcp listen [fdd7::9]:7", "t.conf:7: app echo: listen address fdd7::9 is not configured on any interface (use an inet or inet6 address, 0.0.0.0 or ::)")]
    public void App_listening_on_an_address_not_configured_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Theory]
    [InlineData("app echo udp listen 10.10.11.2:7\napp discard udp listen 10.10.11.2:7", "t.conf:8: app discard: udp 10.10.11.2:7 is already taken by the echo app on line 7")]
    [InlineData("app echo tcp listen 0.0.0.0:7\napp discard tcp listen 10.10.11.2:7", "t.conf:8: app discard: tcp 10.10.11.2:7 is already taken by the echo app on line 7")]
    [InlineData("app iperf3 listen 10.10.11.2:5201\napp echo udp listen 10.10.11.2:5201", "t.conf:8: app echo: udp 10.10.11.2:5201 is already taken by the iperf3 app on line 7")]
    public void Two_apps_on_one_listen_endpoint_is_an_error(string statement, string expected) => AssertOneError(statement, expected);

    [Fact]
    public void Echo_and_discard_on_one_port_of_different_transports_is_fine()
        => Assert.Empty(Errors(Lab + "app echo udp listen 10.10.11.2:7\napp echo tcp listen 10.10.11.2:7\napp echo udp listen [::]:7\n"));

    [Fact]
    public void Three_mistakes_give_exactly_three_errors_on_their_lines()
    {
        string[] errors = Errors("""
            port left  driver tap ifname dpl0 queues 2
            port right driver afpacket ifname dpr0 queues 100
            inet  left  10.10.11.2/24
            inet  right 10.10.12.3/24
            # a comment line
            route add default 10.10.12.4
            route add 10.20.0.0/16 10.10.99.1
            set forwarding on
            set cores 0-1
            mtu rihgt 9000
            app iperf3 listen 10.10.11.2:5201
            """);
        Assert.Equal(
        [
            "t.conf:2: port right: queues '100' out of range 1-64",
            "t.conf:7: route add: gateway 10.10.99.1 is not on any connected network (no inet prefix contains it)",
            "t.conf:10: mtu: undefined port or vlan 'rihgt'",
        ], errors);
    }

    [Fact]
    public void Errors_come_in_line_order_whichever_pass_finds_them()
    {
        string[] errors = Errors("inet nowhere 10.0.0.1/24\nset tso maybe\n");
        Assert.Equal(["t.conf:1: inet: undefined port or vlan 'nowhere'", "t.conf:2: set tso: value 'maybe' must be on or off"], errors);
    }

    [Fact]
    public void A_port_with_an_error_is_still_known_to_the_lines_that_use_it()
    {
        string[] errors = Errors("port left driver tap\ninet left 10.10.11.2/24\nmtu left 1500\n");
        Assert.Equal(["t.conf:1: port left: driver tap needs 'ifname IFNAME'"], errors);
    }

    [Fact]
    public void A_bad_address_does_not_also_make_its_routes_and_apps_unreachable()
    {
        string[] errors = Errors("port left driver memory\ninet left 10.10.11.2/40\nroute add default 10.10.11.1\napp echo udp listen 10.10.11.2:7\n");
        Assert.Equal(["t.conf:2: inet left: prefix length '40' out of range 0-32 for IPv4"], errors);
    }

    [Fact]
    public void Control_characters_in_a_bad_token_are_not_echoed()
    {
        string[] errors = Errors("\u001b[2Jboom on\n");
        Assert.Equal(["t.conf:1: unknown statement '?[2Jboom' (expected port, inet, inet6, route, set, mtu, vlan or app)"], errors);
    }

    [Fact]
    public void Binary_garbage_gives_errors_and_no_exception()
    {
        var random = new Random(7);
        char[] text = new char[20000];
        for (int i = 0; i < text.Length; i++)
            text[i] = (char)random.Next(0, 256);
        ConfigResult result = ConfigParser.Parse("t.conf", new string(text));
        Assert.NotEmpty(result.Errors);
        Assert.All(result.Errors, e => Assert.DoesNotContain(e.Message, char.IsControl));
    }
}
