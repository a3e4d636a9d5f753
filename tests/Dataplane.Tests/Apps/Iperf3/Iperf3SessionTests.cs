using System.Buffers.Binary;
using System.Text;
using Dataplane.Stack.Apps.Iperf3;

namespace Dataplane.Tests.Apps.Iperf3;

/// <summary>The two session state machines, fed literal control bytes and each other, split anywhere.</summary>
public class Iperf3SessionTests
{
    private static readonly byte[] Cookie = "foilcerokuy2mu6wjkq7awb7s3222ntsa2jz\0"u8.ToArray();
    private static readonly TimeSpan T0 = TimeSpan.FromSeconds(100);

    private static byte[] Frame(string json)
    {
        byte[] body = Encoding.UTF8.GetBytes(json);
        byte[] frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
        body.CopyTo(frame, 4);
        return frame;
    }

    private static byte[] Take(Iperf3ServerSession s)
    {
        byte[] b = s.PendingOutput.ToArray();
        s.AdvanceOutput(b.Length);
        return b;
    }

    private static List<Iperf3EventKind> Events(Iperf3ServerSession s)
    {
        var list = new List<Iperf3EventKind>();
        while (s.TryDequeueEvent(out Iperf3Event e))
            list.Add(e.Kind);
        return list;
    }

    private const string TcpParameters = """{"tcp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":1,"len":131072,"pacing_timer":1000,"client_version":"3.12"}""";
    private const string ClientResults = """{"cpu_util_total":1,"cpu_util_user":0.5,"cpu_util_system":0.5,"sender_has_retransmits":0,"streams":[{"id":1,"bytes":1000,"retransmits":18446744073709551615,"jitter":0,"errors":0,"packets":0,"start_time":0,"end_time":1.0}]}""";

    /// <summary>Everything a 3.12 client sends on the control connection in a 1-stream TCP test, in order.</summary>
    private static byte[] ClientControlBytes(byte[] cookie) =>
        [.. cookie, .. Frame(TcpParameters), 4, .. Frame(ClientResults), 16];

    [Fact]
    public void Server_answers_the_cookie_with_param_exchange_and_the_parameters_with_create_streams()
    {
        var s = new Iperf3ServerSession();
        Assert.Equal(Iperf3ConnectionRole.Control, s.ClassifyConnection());
        Assert.True(s.AcceptControl());
        s.OnControlData(Cookie.AsSpan(0, 36), T0);
        Assert.Empty(Take(s));
        s.OnControlData(Cookie.AsSpan(36), T0);
        Assert.Equal(new byte[] { 9 }, Take(s));
        s.OnControlData(Frame(TcpParameters), T0);
        Assert.Equal(new byte[] { 10 }, Take(s));
        Assert.Equal([Iperf3EventKind.StreamsRequested], Events(s));
        Assert.Equal((1, 0), (s.ReceiveStreams, s.SendStreams));
        Assert.Equal(Iperf3ConnectionRole.Data, s.ClassifyConnection());
    }

    [Fact]
    public void Server_refuses_a_data_connection_with_a_wrong_cookie_and_takes_the_right_one()
    {
        Iperf3ServerSession s = ServerAtCreateStreams();
        byte[] wrong = (byte[])Cookie.Clone();
        wrong[0] = (byte)'b';
        Assert.Null(s.AcceptTcpStream(wrong, T0));
        Assert.Null(s.AcceptUdpStream(T0)); // a TCP test takes no UDP stream
        Assert.Empty(Take(s));
        Iperf3Stream stream = s.AcceptTcpStream(Cookie, T0)!;
        Assert.Equal((1, false), (stream.Id, stream.IsSender));
        Assert.Equal(new byte[] { 1, 2 }, Take(s)); // TEST_START, TEST_RUNNING
        Assert.Equal([Iperf3EventKind.TestStarted], Events(s));
    }

    [Fact]
    public void Server_refuses_a_second_control_connection_while_busy()
    {
        Iperf3ServerSession s = ServerAtCreateStreams();
        s.AcceptTcpStream(Cookie, T0);
        Assert.Equal(Iperf3ConnectionRole.Refuse, s.ClassifyConnection());
        Assert.False(s.AcceptControl());
        Assert.Equal(0xFF, Iperf3Payload.AccessDeniedByte);
    }

    [Fact]
    public void Server_session_survives_every_split_of_the_control_stream()
    {
        byte[] all = ClientControlBytes(Cookie);
        for (int cut1 = 0; cut1 <= all.Length; cut1 += 3)
        {
            for (int cut2 = cut1; cut2 <= all.Length; cut2 += 17)
            {
                (Iperf3ServerSession s, byte[] sent) = RunServer(all, [cut1, cut2]);
                Assert.True(s.IsFinished, $"cuts {cut1},{cut2}");
                Assert.Null(s.Error);
                Assert.Equal(1000, s.ClientResults!.Streams[0].Bytes);
                Assert.Equal(-1, s.ClientResults.Streams[0].Retransmits);
                AssertServerSent(sent);
            }
        }
    }

    [Fact]
    public void Server_session_takes_the_control_stream_one_byte_at_a_time()
    {
        byte[] all = ClientControlBytes(Cookie);
        (Iperf3ServerSession s, byte[] sent) = RunServer(all, Enumerable.Range(1, all.Length - 1).ToArray());
        Assert.Null(s.Error);
        AssertServerSent(sent);
    }

    /// <summary>Feeds <paramref name="all"/> cut at <paramref name="cuts"/>, accepting the data stream when asked and counting 5000 bytes into it.</summary>
    private static (Iperf3ServerSession, byte[]) RunServer(byte[] all, int[] cuts)
    {
        var s = new Iperf3ServerSession();
        s.AcceptControl();
        var sent = new List<byte>();
        int start = 0;
        // A client sends each message only when the server asked for it (cookie, parameters after
        // PARAM_EXCHANGE, TEST_END after TEST_RUNNING...): those boundaries are always cuts, and
        // the arbitrary ones fall between and inside them.
        int parameters = Cookie.Length + 4 + TcpParameters.Length;
        int[] boundaries = [Cookie.Length, parameters, parameters + 1, all.Length - 1];
        foreach (int cut in cuts.Concat(boundaries).Append(all.Length).Distinct().Order())
        {
            s.OnControlData(all.AsSpan(start, cut - start), T0);
            start = cut;
            while (s.ClassifyConnection() == Iperf3ConnectionRole.Data)
                s.AcceptTcpStream(Cookie, T0)!.CountReceived(5000);
            sent.AddRange(Take(s));
        }
        return (s, sent.ToArray());
    }

    private static void AssertServerSent(byte[] sent)
    {
        // PARAM_EXCHANGE, CREATE_STREAMS, TEST_START, TEST_RUNNING, EXCHANGE_RESULTS, results, DISPLAY_RESULTS.
        Assert.Equal(new byte[] { 9, 10, 1, 2, 13 }, sent[..5]);
        int length = BinaryPrimitives.ReadInt32BigEndian(sent.AsSpan(5));
        Assert.Equal(5 + 4 + length + 1, sent.Length);
        Assert.Equal(14, sent[^1]);
        Iperf3Results r = Iperf3Results.Parse(sent.AsSpan(9, length), out _)!;
        Assert.Equal(-1, r.SenderHasRetransmits); // the server only received
        Assert.Equal(5000, Assert.Single(r.Streams).Bytes);
    }

    [Fact]
    public void Server_holds_control_bytes_that_overtook_its_streams_until_they_are_all_there()
    {
        byte[] all = ClientControlBytes(Cookie);
        var s = new Iperf3ServerSession();
        s.AcceptControl();
        s.OnControlData(all, T0);
        Assert.Equal(Iperf3ServerPhase.CreatingStreams, s.Phase);
        s.AcceptTcpStream(Cookie, T0);
        Assert.True(s.IsFinished);
        Assert.Null(s.Error);
        Assert.Equal(new byte[] { 9, 10, 1, 2, 13 }, Take(s)[..5]);
    }

    [Fact]
    public void Server_ends_the_test_on_client_terminate()
    {
        Iperf3ServerSession s = ServerAtCreateStreams();
        s.AcceptTcpStream(Cookie, T0);
        Events(s);
        s.OnControlData([12], T0);
        Assert.True(s.IsFinished);
        Assert.Equal("the client has terminated", s.Error);
        Assert.Equal([Iperf3EventKind.TestEnded, Iperf3EventKind.Finished], Events(s));
    }

    [Fact]
    public void Server_fails_on_an_unknown_state_and_on_a_closed_control_connection()
    {
        Iperf3ServerSession s = ServerAtCreateStreams();
        s.AcceptTcpStream(Cookie, T0);
        s.OnControlData([7], T0);
        Assert.StartsWith("received an unknown control message", s.Error, StringComparison.Ordinal);
        Iperf3ServerSession t = ServerAtCreateStreams();
        t.OnControlClosed(T0);
        Assert.Equal("control socket has closed unexpectedly", t.Error);
    }

    [Fact]
    public void Server_answers_bad_parameters_with_server_error_and_two_codes()
    {
        var s = new Iperf3ServerSession();
        s.AcceptControl();
        s.OnControlData([.. Cookie, .. Frame("""{"tcp":true,"parallel":500}""")], T0);
        Assert.Equal(new byte[] { 9, 0xFE, 0, 0, 0, 114, 0, 0, 0, 0 }, Take(s));
        Assert.True(s.IsFinished);
    }

    [Fact]
    public void Server_abandons_a_timed_test_after_the_grace_period()
    {
        Iperf3ServerSession s = ServerAtCreateStreams();
        s.AcceptTcpStream(Cookie, T0);
        s.Poll(T0 + TimeSpan.FromSeconds(40));
        Assert.False(s.IsFinished);
        s.Poll(T0 + TimeSpan.FromSeconds(41));
        Assert.True(s.IsFinished);
    }

    [Fact]
    public void Server_in_reverse_and_bidir_modes_sends_on_the_right_streams()
    {
        Iperf3ServerSession r = ServerAtCreateStreams("""{"tcp":true,"parallel":2,"reverse":true}""");
        Assert.True(r.AcceptTcpStream(Cookie, T0)!.IsSender);
        Assert.True(r.AcceptTcpStream(Cookie, T0)!.IsSender);
        Iperf3ServerSession b = ServerAtCreateStreams("""{"tcp":true,"parallel":2,"bidirectional":true}""");
        bool[] senders = Enumerable.Range(0, 4).Select(_ => b.AcceptTcpStream(Cookie, T0)!.IsSender).ToArray();
        Assert.Equal([false, false, true, true], senders); // the client's senders connect first
        Assert.Equal([1, 3, 4, 5], b.Streams.Select(x => x.Id));
        Assert.Equal(Iperf3ServerPhase.Running, b.Phase);
    }

    private static Iperf3ServerSession ServerAtCreateStreams(string parameters = TcpParameters)
    {
        var s = new Iperf3ServerSession();
        s.AcceptControl();
        s.OnControlData([.. Cookie, .. Frame(parameters)], T0);
        Take(s);
        Events(s);
        return s;
    }

    [Fact]
    public void Client_and_server_sessions_complete_a_test_through_a_pipe_split_anywhere()
    {
        foreach (int chunk in new[] { 1, 2, 3, 7, 64, 100_000 })
        {
            foreach (Iperf3Direction direction in Enum.GetValues<Iperf3Direction>())
            {
                var p = new Iperf3Parameters { Duration = 1, Parallel = 2, Reverse = direction == Iperf3Direction.Reverse, Bidirectional = direction == Iperf3Direction.Bidirectional };
                var client = new Iperf3ClientSession(p);
                var server = new Iperf3ServerSession();
                server.AcceptControl();
                TimeSpan now = T0;
                for (int round = 0; round < 1000 && !(client.IsFinished && server.IsFinished); round++)
                {
                    Pipe(client.PendingOutput, client.AdvanceOutput, d => server.OnControlData(d, now), chunk);
                    Pipe(server.PendingOutput, server.AdvanceOutput, d => client.OnControlData(d, now), chunk);
                    while (client.TryDequeueEvent(out Iperf3Event e))
                    {
                        if (e.Kind == Iperf3EventKind.StreamsRequested)
                        {
                            while (client.StreamsToCreate > 0)
                            {
                                client.CreateStream();
                                Assert.NotNull(server.AcceptTcpStream(client.Cookie, now));
                            }
                        }
                    }
                    if (client.Phase == Iperf3ClientPhase.Running)
                    {
                        foreach (Iperf3Stream s in client.Streams.Where(x => x.IsSender))
                            s.CountSent(1000);
                        foreach (Iperf3Stream s in server.Streams.Where(x => !x.IsSender))
                            s.CountReceived(1000);
                        foreach (Iperf3Stream s in server.Streams.Where(x => x.IsSender))
                            s.CountSent(700);
                        foreach (Iperf3Stream s in client.Streams.Where(x => !x.IsSender))
                            s.CountReceived(700);
                    }
                    now += TimeSpan.FromMilliseconds(100);
                    client.Poll(now);
                    server.Poll(now);
                }
                Assert.True(client.IsFinished && server.IsFinished, $"{direction} chunk {chunk}: {client.Phase} {server.Phase}");
                Assert.Null(client.Error);
                Assert.Null(server.Error);
                Assert.All(client.Streams, s => Assert.Equal(s.Bytes, s.Peer!.Bytes));
                Assert.All(server.Streams, s => Assert.Equal(s.Bytes, s.Peer!.Bytes));
                Assert.Equal(p.Parallel * (p.Bidirectional ? 2 : 1), client.Streams.Count);
                string summary = Iperf3Report.FormatSummary(client);
                Assert.Contains("[SUM]", summary, StringComparison.Ordinal);
                Assert.EndsWith("iperf Done.\n", summary, StringComparison.Ordinal);
            }
        }
    }

    private static void Pipe(ReadOnlySpan<byte> output, Action<int> advance, Action<byte[]> deliver, int chunk)
    {
        byte[] bytes = output.ToArray();
        advance(bytes.Length);
        for (int i = 0; i < bytes.Length; i += chunk)
            deliver(bytes.AsSpan(i, Math.Min(chunk, bytes.Length - i)).ToArray());
    }

    [Fact]
    public void Client_ends_on_byte_count_and_reports_access_denied_and_server_error()
    {
        var client = new Iperf3ClientSession(new Iperf3Parameters { Duration = 0, Bytes = 3000 }, Cookie);
        Assert.Equal(Cookie, client.PendingOutput.ToArray());
        client.AdvanceOutput(Cookie.Length);
        client.OnControlData([9, 10], T0);
        Iperf3Stream s = client.CreateStream();
        client.OnControlData([1, 2], T0);
        s.CountSent(2000);
        client.Poll(T0);
        Assert.Equal(Iperf3ClientPhase.Running, client.Phase);
        s.CountSent(1000);
        client.Poll(T0 + TimeSpan.FromSeconds(0.5));
        Assert.Equal(Iperf3ClientPhase.Ending, client.Phase);
        Assert.Equal(4, client.PendingOutput[^1]); // TEST_END

        var denied = new Iperf3ClientSession(new Iperf3Parameters());
        denied.OnControlData([0xFF], T0);
        Assert.Equal("the server is busy running a test. try again later", denied.Error);

        var error = new Iperf3ClientSession(new Iperf3Parameters());
        error.OnControlData([0xFE, 0, 0, 0], T0);
        Assert.False(error.IsFinished);
        error.OnControlData([114, 0, 0, 0, 5], T0);
        Assert.Equal("the server reported error 114 (errno 5)", error.Error);
    }

    [Fact]
    public void Udp_receiver_counts_loss_reordering_and_jitter_as_iperf3()
    {
        var server = ServerAtCreateStreams("""{"udp":true,"parallel":1,"len":100}""");
        Iperf3Stream s = server.AcceptUdpStream(T0)!;
        byte[] d = new byte[100];
        void Arrive(ulong n, long sent, long arrived)
        {
            Iperf3Payload.WriteUdpHeader(d, sent, n, false);
            s.CountUdpDatagram(d, arrived);
        }
        Arrive(1, 1_000_000, 1_000_100);
        Arrive(2, 1_001_000, 1_001_100);
        Arrive(5, 1_004_000, 1_004_300); // 3 and 4 missing; transit grows by 200 us
        Arrive(3, 1_002_000, 1_004_400); // late: one loss taken back
        Assert.Equal((5L, 1L, 1L, 400L), (s.PacketCount, s.Errors, s.OutOfOrder, s.Bytes));
        double j = 0;
        foreach (double transitChange in new[] { 0.0, 0.0, 200e-6, 2100e-6 })
            j += (transitChange - j) / 16;
        Assert.Equal(j, s.Jitter, 12);
    }
}
