using Dataplane.Buffers;
using Dataplane.Control;
using Dataplane.Engine;
using Dataplane.Stack;
using Dataplane.Stack.Apps;
using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Tests.Stack;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Control;

/// <summary><c>ctl netstat -an</c>: the UDP sockets of every worker in the layout of BSD's netstat -an.</summary>
public sealed class SocketReportTests
{
    private const string Header =
        "Active Internet connections (including servers)\n" +
        "Proto   Recv-Q Send-Q  Local Address          Foreign Address        (state)     Worker\n";

    [Fact]
    public void A_listener_on_every_worker_is_one_line_and_a_connected_socket_names_its_worker()
    {
        var h = Host(worker: 0, workers: 2);
        var second = new StackWorker(h.Stack, new WorkerContext(1, h.Pool, new BufferCache(h.Pool), new TimerWheel(h.Now), [null, null]));
        foreach (StackWorker worker in new[] { h.Worker, second })
        {
            Assert.Equal(UdpError.None, worker.Udp.Start(new UdpEchoApp(InetEndpoint.Ipv4(Ipv4Address.Any, 7))));
            Assert.Equal(UdpError.None, worker.Udp.Start(new UdpDiscardApp(InetEndpoint.Ipv6(Ours6, 9))));
        }
        var relay = new UdpRelayApp(InetEndpoint.Ipv4(Ours, 9000), InetEndpoint.Ipv4(Server, 9001), splice: true);
        Assert.Equal(UdpError.None, second.Udp.Start(relay));
        UdpSocket far = second.Udp.Open(false, relay);
        Assert.Equal(UdpError.None, far.Bind(InetEndpoint.Ipv4(OursRight, 50000)));
        Assert.Equal(UdpError.None, far.Connect(InetEndpoint.Ipv4(Server, 9001)));

        string report = SocketReport.Write(h.Stack);

        Assert.Equal(
            Header +
            "udp          0      0  *.7                    *.*                                all\n" +
            "udp6         0      0  fdd7:e83e:66bd:1011::2.9 *.*                                all\n" +
            "udp          0      0  10.10.11.2.9000        *.*                                1\n" +
            "udp          0      0  10.10.12.3.50000       10.10.12.4.9001                    1\n",
            report);
    }

    [Fact]
    public void A_tcp_listener_on_every_worker_is_one_line_and_a_connection_shows_its_state_and_worker()
    {
        var h = Host(worker: 0, workers: 2).KnowingPeers();
        var second = new StackWorker(h.Stack, new WorkerContext(1, h.Pool, new BufferCache(h.Pool), new TimerWheel(h.Now), [null, null]));
        foreach (StackWorker worker in new[] { h.Worker, second })
            Assert.Equal(TcpError.None, worker.Tcp.Start(new TcpEchoApp(InetEndpoint.Ipv4(Ipv4Address.Any, 7))));
        // A SYN from the client: the connection waits in SYN_RCVD on worker 0, which took it.
        byte[] syn = new byte[20];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(syn, 40000);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(syn.AsSpan(2), 7);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(syn.AsSpan(4), 1000);
        syn[12] = 5 << 4;
        syn[13] = 0x02;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(syn.AsSpan(14), 64240);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(syn.AsSpan(16), Frames.Checksum4(Client, Ours, 6, syn));
        h.Receive(0, Frames.Ipv4Frame(h.Mac(0), Client, Ours, 6, syn));

        string report = SocketReport.Write(h.Stack);

        Assert.Equal(
            Header +
            "tcp          0      0  *.7                    *.*                    LISTEN      all\n" +
            "tcp          0      0  10.10.11.2.7           10.10.11.1.40000       SYN_RCVD    0\n",
            report);
    }

    [Fact]
    public void A_spliced_socket_says_so()
    {
        var h = Host();
        var relay = new UdpRelayApp(InetEndpoint.Ipv4(Ours, 9000), InetEndpoint.Ipv4(Server, 9001), splice: true);
        Assert.Equal(UdpError.None, h.Udp.Start(relay));

        h.Receive(0, Frames.Udp4Frame(h.Mac(0), Client, Ours, 40000, 9000, [1]));
        string report = SocketReport.Write(h.Stack);

        Assert.Contains("udp          0      0  10.10.11.2.9000        10.10.11.1.40000       spliced     0\n", report);
        Assert.Matches(@"udp          0      0  10\.10\.12\.3\.\d{5} +10\.10\.12\.4\.9001        spliced     0\n", report);
    }

    [Fact]
    public void Ctl_netstat_an_lists_the_sockets_of_the_configs_udp_apps()
    {
        string dir = Directory.CreateTempSubdirectory("dpctl-").FullName;
        try
        {
            using var host = new RunningHost(Path.Combine(dir, "dp.sock"),
                "port m0 driver memory queues 2\ninet m0 10.0.0.2/24\nset cores 0-1\n" +
                "app echo udp listen 0.0.0.0:7\napp relay udp listen 10.0.0.2:9000 connect 10.0.0.9:9000 mode copy\n");
            Assert.True(host.WaitServing(), host.Stderr.ToString());

            var (code, stdout, stderr) = RunningHost.Ctl("-s", host.Socket, "netstat", "-an");

            Assert.Equal(0, code);
            Assert.Equal("", stderr);
            Assert.Equal(
                Header +
                "udp          0      0  *.7                    *.*                                all\n" +
                "udp          0      0  10.0.0.2.9000          *.*                                all\n",
                stdout);
            Assert.Equal(0, host.Stop());
            Assert.DoesNotContain("app echo", host.Stderr.ToString()); // no warning for the UDP apps
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
