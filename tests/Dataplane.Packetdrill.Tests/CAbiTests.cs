using Dataplane.Wire;

namespace Dataplane.Packetdrill.Tests;

/// <summary>
/// The library through its exported C interface, one instance per test, on the test's thread (the
/// thread that loads the library drives the clock, as packetdrill's main thread does).
/// </summary>
[Collection(LibraryCollection.Name)]
public sealed unsafe class CAbiTests(PacketdrillLibrary library)
{
    private const ushort Port = 8080;
    private const ushort PeerPort = 40000;
    private const int EAGAIN = 11, ECONNRESET = 104, ETIMEDOUT = 110, ECONNREFUSED = 111, EINPROGRESS = 115, EAFNOSUPPORT = 97;
    private static readonly byte[] SynOptions = [2, 4, 0x05, 0xB4, 1, 3, 3, 7]; // mss 1460, nop, wscale 7

    [Fact]
    public void Init_fills_every_function_of_the_interface()
    {
        PacketdrillInterface ifc = library.Open();
        try
        {
            nint* words = (nint*)&ifc;
            for (int i = 0; i < sizeof(PacketdrillInterface) / sizeof(nint); i++)
                Assert.True(words[i] != 0, $"word {i} of struct packetdrill_interface is null");
            Assert.Equal(33 * 8, sizeof(PacketdrillInterface));
        }
        finally
        {
            ifc.Free(ifc.UserData);
        }
    }

    [Fact]
    public void Passive_open_handshake_data_both_ways_and_close_at_the_netdev()
    {
        using var net = new Netdev(library);
        int listener = net.Socket();
        Assert.Equal(3, listener);
        Assert.Equal(0, net.Bind(listener, Netdev.Local, Port));
        Assert.Equal(0, net.Listen(listener, 1));

        net.Inject(PeerPort, Port, 1000, 0, TcpFlags.Syn, 65535, options: SynOptions);
        Segment synAck = net.Expect();
        Assert.True(synAck.Has(TcpFlags.Syn | TcpFlags.Ack));
        Assert.Equal(Port, synAck.SourcePort);
        Assert.Equal(PeerPort, synAck.DestinationPort);
        Assert.Equal(1001u, synAck.Ack);
        uint iss = synAck.Seq;
        Assert.Equal(0, net.SetNonBlocking(listener));
        Assert.Equal(-1, net.Accept(listener, out _, out _)); // the handshake is not complete
        Assert.Equal(EAGAIN, net.Errno);

        net.Inject(PeerPort, Port, 1001, iss + 1, TcpFlags.Ack, 257);
        Assert.Equal(0x1, net.Poll(listener, 0x1, 0)); // POLLIN: a connection to accept
        int fd = net.Accept(listener, out Ipv4Address peer, out ushort peerPort);
        Assert.Equal(4, fd);
        Assert.Equal(Netdev.Remote, peer);
        Assert.Equal(PeerPort, peerPort);

        byte[] request = new byte[1000];
        new Random(1).NextBytes(request);
        net.Inject(PeerPort, Port, 1001, iss + 1, TcpFlags.Ack | TcpFlags.Psh, 257, request);
        byte[] got = new byte[2000];
        Assert.Equal(1000, net.Read(fd, got));
        Assert.Equal(request, got[..1000]);

        byte[] reply = new byte[500];
        new Random(2).NextBytes(reply);
        Assert.Equal(0, net.SetNoDelay(fd));
        Assert.Equal(500, net.Write(fd, reply));
        Segment data = Next(net, s => s.Payload.Length > 0);
        Assert.Equal(iss + 1, data.Seq);
        Assert.Equal(2001u, data.Ack);
        Assert.Equal(reply, data.Payload);

        net.Inject(PeerPort, Port, 2001, iss + 501, TcpFlags.Ack, 257);
        Assert.Equal(0, net.Close(fd));
        Segment fin = net.Expect();
        Assert.True(fin.Has(TcpFlags.Fin | TcpFlags.Ack));
        Assert.Equal(iss + 501, fin.Seq);
        net.Inject(PeerPort, Port, 2001, iss + 502, TcpFlags.Fin | TcpFlags.Ack, 257);
        Segment last = net.Expect();
        Assert.Equal(TcpFlags.Ack, last.Flags);
        Assert.Equal(2002u, last.Ack);
        Assert.Equal(0, net.Close(listener));
    }

    [Fact]
    public void Non_blocking_connect_says_EINPROGRESS_then_SO_ERROR_0_once_the_SYN_ACK_arrives()
    {
        using var net = new Netdev(library);
        int fd = net.Socket();
        Assert.Equal(0, net.SetNonBlocking(fd));
        Assert.Equal(-1, net.Connect(fd, Netdev.Remote, Port));
        Assert.Equal(EINPROGRESS, net.Errno);
        Segment syn = net.Expect();
        Assert.Equal(TcpFlags.Syn, syn.Flags);
        Assert.Equal(Port, syn.DestinationPort);
        Assert.Equal(0, net.Poll(fd, 0x4, 0)); // not writable while connecting

        net.Inject(Port, syn.SourcePort, 5000, syn.Seq + 1, TcpFlags.Syn | TcpFlags.Ack, 65535, options: SynOptions);
        Segment ack = net.Expect();
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(5001u, ack.Ack);
        Assert.Equal(0x4, net.Poll(fd, 0x4, 0)); // POLLOUT
        Assert.Equal(0, net.GetSocketError(fd, out int error));
        Assert.Equal(0, error);

        byte[] into = new byte[100];
        Assert.Equal(-1, net.Read(fd, into));
        Assert.Equal(EAGAIN, net.Errno);
    }

    [Fact]
    public void Connect_answered_by_a_reset_is_ECONNREFUSED()
    {
        using var net = new Netdev(library);
        int fd = net.Socket();
        Assert.Equal(0, net.SetNonBlocking(fd));
        Assert.Equal(-1, net.Connect(fd, Netdev.Remote, Port));
        Segment syn = net.Expect();
        net.Inject(Port, syn.SourcePort, 0, syn.Seq + 1, TcpFlags.Rst | TcpFlags.Ack, 0);
        Assert.Equal(0, net.GetSocketError(fd, out int error));
        Assert.Equal(ECONNREFUSED, error);
        Assert.Equal(0, net.GetSocketError(fd, out error));
        Assert.Equal(0, error); // reported once, as Linux's sk_err
    }

    [Fact]
    public void A_reset_makes_the_next_read_ECONNRESET_and_the_one_after_it_end_of_file()
    {
        using var net = new Netdev(library);
        (int fd, uint iss) = Established(net);
        net.Inject(PeerPort, Port, 1001, iss + 1, TcpFlags.Rst | TcpFlags.Ack, 0);
        byte[] into = new byte[10];
        Assert.Equal(-1, net.Read(fd, into));
        Assert.Equal(ECONNRESET, net.Errno);
        Assert.Equal(0, net.Read(fd, into));
    }

    [Fact]
    public void A_blocking_connect_nobody_answers_retransmits_its_SYN_on_the_virtual_clock_and_times_out()
    {
        using var net = new Netdev(library);
        long start = net.Now();
        int fd = net.Socket();
        Assert.Equal(-1, net.Connect(fd, Netdev.Remote, Port)); // the driving thread runs the clock until the stack gives up
        Assert.Equal(ETIMEDOUT, net.Errno);
        Assert.InRange(net.Now() - start, 127_000_000, 128_000_000);
        var times = new List<long>();
        while (net.Receive() is ((var s, var t)) && s.Has(TcpFlags.Syn))
            times.Add(t - start);
        // The first SYN, then six again at 1, 3, 7, 15, 31 and 63 s (RFC 6298 backoff from 1 s).
        Assert.Equal(7, times.Count);
        long[] expected = [0, 1, 3, 7, 15, 31, 63];
        for (int i = 0; i < times.Count; i++)
            Assert.InRange(times[i], expected[i] * 1_000_000, expected[i] * 1_000_000 + 10_000);
    }

    [Fact]
    public void The_clock_moves_only_by_usleep_and_a_microsecond_per_read_and_a_delayed_ACK_leaves_40_ms_after_the_data()
    {
        using var net = new Netdev(library);
        long a = net.Now();
        long b = net.Now();
        Assert.Equal(1, b - a);
        net.Sleep(250_000);
        Assert.Equal(250_001, net.Now() - b);

        (int _, uint iss) = Established(net);
        long sent = net.Now();
        net.Inject(PeerPort, Port, 1001, iss + 1, TcpFlags.Ack | TcpFlags.Psh, 257, new byte[100]);
        (Segment ack, long time) = net.Receive()!.Value;
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(1101u, ack.Ack);
        Assert.InRange(time - sent, 40_000, 41_000);
    }

    [Fact]
    public void Socket_refuses_families_other_than_inet_and_inet6()
    {
        using var net = new Netdev(library);
        Assert.Equal(-1, net.Interface.Socket(net.UserData, 1 /* AF_UNIX */, Netdev.SockStream, 0));
        Assert.Equal(EAFNOSUPPORT, System.Runtime.InteropServices.Marshal.GetLastSystemError());
    }

    /// <summary>A connection accepted on port 8080 from the peer, after a handshake with ISN 1000; the descriptor and the stack's ISS.</summary>
    private static (int Fd, uint Iss) Established(Netdev net)
    {
        int listener = net.Socket();
        Assert.Equal(0, net.Bind(listener, Netdev.Local, Port));
        Assert.Equal(0, net.Listen(listener, 1));
        net.Inject(PeerPort, Port, 1000, 0, TcpFlags.Syn, 65535, options: SynOptions);
        Segment synAck = net.Expect();
        net.Inject(PeerPort, Port, 1001, synAck.Seq + 1, TcpFlags.Ack, 257);
        int fd = net.Accept(listener, out _, out _);
        Assert.True(fd > listener);
        return (fd, synAck.Seq);
    }

    /// <summary>The next segment that matches, skipping others (a window update, a pure ACK).</summary>
    private static Segment Next(Netdev net, Func<Segment, bool> match)
    {
        for (int i = 0; i < 8; i++)
        {
            Segment s = net.Expect();
            if (match(s))
                return s;
        }
        throw new Xunit.Sdk.XunitException("no matching segment in the next 8");
    }
}
