using System.Text;

namespace Dataplane.Conformance.Jobs;

/// <summary>
/// The relay benchmark's addresses and ports, and the configurations it writes for the routers and
/// the web server: the dataplane's, HAProxy's, socat's command lines, nginx's. The addresses are
/// the main job's (line 1 of OpenBSD's netlink lab): left .1, router .2 and .3, right .4.
/// </summary>
internal static class RelayBenchConfigs
{
    /// <summary>The right host's iperf3 server.</summary>
    public const int Iperf3Port = 5201;

    /// <summary>The right host's nginx.</summary>
    public const int HttpPort = 80;

    /// <summary>The right host's sink of idle connections (the memory test).</summary>
    public const int IdlePort = 5301;

    /// <summary>The relays' ports on the router's left address: to iperf3, to nginx, to the idle sink; the dataplane's copy relays on the next port.</summary>
    public const int Iperf3Relay = 5202, HttpRelay = 8080, IdleRelay = 5301;

    /// <summary>The file nginx serves and its size.</summary>
    public const string SmallFile = "1k.bin";

    /// <summary>The size of <see cref="SmallFile"/>.</summary>
    public const int SmallFileBytes = 1024;

    /// <summary>The left host's address.</summary>
    public static string Left(int family) => family == 4 ? "10.10.11.1" : "fdd7:e83e:66bd:1011::1";

    /// <summary>The router's address on the left network (where the relays listen).</summary>
    public static string RouterLeft(int family) => family == 4 ? "10.10.11.2" : "fdd7:e83e:66bd:1011::2";

    /// <summary>The router's address on the right network.</summary>
    public static string RouterRight(int family) => family == 4 ? "10.10.12.3" : "fdd7:e83e:66bd:1012::3";

    /// <summary>The right host's address.</summary>
    public static string Right(int family) => family == 4 ? "10.10.12.4" : "fdd7:e83e:66bd:1012::4";

    /// <summary>The left network.</summary>
    public static string LeftNet(int family) => family == 4 ? "10.10.11.0/24" : "fdd7:e83e:66bd:1011::/64";

    /// <summary>The right network.</summary>
    public static string RightNet(int family) => family == 4 ? "10.10.12.0/24" : "fdd7:e83e:66bd:1012::/64";

    /// <summary>The prefix length of both networks.</summary>
    public static int Prefix(int family) => family == 4 ? 24 : 64;

    /// <summary><paramref name="address"/> as an endpoint's host: bracketed when IPv6.</summary>
    public static string Host(string address) => address.Contains(':', StringComparison.Ordinal) ? $"[{address}]" : address;

    /// <summary>ADDRESS:PORT, the address bracketed when IPv6.</summary>
    public static string Endpoint(string address, int port) => $"{Host(address)}:{port}";

    /// <summary>The relay port a dataplane row listens on: the copy relay one above the splice relay.</summary>
    public static int DataplanePort(int splicePort, bool copy) => copy ? splicePort + 1 : splicePort;

    /// <summary>
    /// The dataplane's configuration: the example's ports (tap left, afpacket right, two queues, two
    /// workers), addresses and routes, TSO and LRO on, and a splice and a copy relay, for each
    /// family, to the right host's iperf3 and nginx, and a splice relay to its idle sink.
    /// </summary>
    public static string Dataplane()
    {
        var c = new StringBuilder();
        c.Append("""
            # The dataplane as the router of dataplane-conformance relay-bench (written by it).
            #   left host -- dpl0 [ dataplane ] dpr0 -- right host
            port left  driver tap      ifname dpl0 queues 2
            port right driver afpacket ifname dpr0 queues 2

            """);
        foreach (int f in (int[])[4, 6])
        {
            string inet = f == 4 ? "inet " : "inet6";
            c.Append($"{inet} left  {RouterLeft(f)}/{Prefix(f)}\n");
            c.Append($"{inet} right {RouterRight(f)}/{Prefix(f)}\n");
        }
        c.Append($"route add default {Right(4)}\n");
        c.Append($"route add -inet6 default {Right(6)}\n");
        c.Append("""
            set forwarding on
            set cores 0-1
            set tso on
            set lro on

            # The relays: the client connects to the router's left address; the relay to the right host.

            """);
        foreach (int f in (int[])[4, 6])
        {
            foreach ((int relay, int target) in (ReadOnlySpan<(int, int)>)[(Iperf3Relay, Iperf3Port), (HttpRelay, HttpPort)])
            {
                foreach (bool copy in (ReadOnlySpan<bool>)[false, true])
                {
                    c.Append($"app relay tcp listen {Endpoint(RouterLeft(f), DataplanePort(relay, copy))} " +
                        $"connect {Endpoint(Right(f), target)} mode {(copy ? "copy" : "splice")}\n");
                }
            }
            c.Append($"app relay tcp listen {Endpoint(RouterLeft(f), IdleRelay)} connect {Endpoint(Right(f), IdlePort)} mode splice\n");
        }
        return c.ToString();
    }

    /// <summary>
    /// HAProxy in TCP mode on the Linux router, one process (<c>-db</c>), two threads as the
    /// dataplane has two workers, kernel splicing forced both ways (<c>option splice-request</c>,
    /// <c>option splice-response</c>: every transfer is spliced, where <c>splice-auto</c> would
    /// guess), listening for <paramref name="families"/> on the relay ports.
    /// </summary>
    public static string HaProxy(IReadOnlyList<int> families, int pairs)
    {
        var c = new StringBuilder();
        c.Append($"""
            # HAProxy as the relay of dataplane-conformance relay-bench (written by it).
            global
                nbthread 2
                maxconn {Math.Max(4096, 2 * pairs + 1024)}

            defaults
                mode tcp
                option splice-request
                option splice-response
                timeout connect 10s
                timeout client 120s
                timeout server 120s

            """);
        foreach ((string name, int relay, int target) in (ReadOnlySpan<(string, int, int)>)[("iperf3", Iperf3Relay, Iperf3Port), ("http", HttpRelay, HttpPort), ("idle", IdleRelay, IdlePort)])
        {
            foreach (int f in families)
            {
                c.Append($"listen {name}{f}\n");
                c.Append($"    bind {Endpoint(RouterLeft(f), relay)}\n");
                c.Append($"    server right {Endpoint(Right(f), target)}\n");
            }
        }
        return c.ToString();
    }

    /// <summary>socat's arguments for a relay of <paramref name="family"/> from the router's left address to the right host: a child per connection (fork).</summary>
    public static string[] Socat(int family, int relay, int target) =>
    [
        $"TCP{family}-LISTEN:{relay},bind={Host(RouterLeft(family))},fork,reuseaddr,backlog=1024",
        $"TCP{family}:{Endpoint(Right(family), target)}",
    ];

    /// <summary>
    /// nginx on the right host, in the foreground, everything in <paramref name="folder"/> (pid,
    /// logs, the body temp path), serving <paramref name="folder"/>/www on port 80 of every address, no
    /// access log; workers as root (the folder is root's only).
    /// </summary>
    public static string Nginx(string folder) => $$"""
        # nginx on the right host of dataplane-conformance relay-bench (written by it).
        daemon off;
        user root;
        worker_processes 2;
        pid {{folder}}/nginx.pid;
        error_log {{folder}}/nginx-error.log warn;
        events { worker_connections 4096; }
        http {
            access_log off;
            client_body_temp_path {{folder}}/nginx-body;
            server {
                listen {{HttpPort}} reuseport backlog=4096;
                listen [::]:{{HttpPort}} reuseport backlog=4096;
                root {{folder}}/www;
            }
        }
        """;
}
