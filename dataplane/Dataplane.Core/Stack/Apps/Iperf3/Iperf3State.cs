namespace Dataplane.Stack.Apps.Iperf3;

/// <summary>
/// The states iperf3 sends on its control connection, one signed byte each (iperf_api.h). The
/// server drives most transitions; the client sends only TEST_END, CLIENT_TERMINATE and IPERF_DONE.
/// </summary>
public enum Iperf3State : sbyte
{
    /// <summary>TEST_START: the server has every data stream; the client arms its timers.</summary>
    TestStart = 1,

    /// <summary>TEST_RUNNING: data may flow.</summary>
    TestRunning = 2,

    /// <summary>TEST_END: the client's end condition (-t, -n or -k) was met.</summary>
    TestEnd = 4,

    /// <summary>PARAM_EXCHANGE: the server asks for the client's parameter JSON.</summary>
    ParamExchange = 9,

    /// <summary>CREATE_STREAMS: the client opens its data streams.</summary>
    CreateStreams = 10,

    /// <summary>SERVER_TERMINATE: the server was interrupted.</summary>
    ServerTerminate = 11,

    /// <summary>CLIENT_TERMINATE: the client was interrupted.</summary>
    ClientTerminate = 12,

    /// <summary>EXCHANGE_RESULTS: the client sends its results JSON, then the server its own.</summary>
    ExchangeResults = 13,

    /// <summary>DISPLAY_RESULTS: both sides print their summaries.</summary>
    DisplayResults = 14,

    /// <summary>IPERF_START: the server's idle state (never sent).</summary>
    IperfStart = 15,

    /// <summary>IPERF_DONE: the client's last word; the test is over.</summary>
    IperfDone = 16,

    /// <summary>ACCESS_DENIED: the server is busy, or a data connection carried a wrong cookie.</summary>
    AccessDenied = -1,

    /// <summary>SERVER_ERROR: followed by two big-endian int32s, iperf3's i_errno and errno.</summary>
    ServerError = -2,
}

/// <summary>The data transport a test uses (the "tcp"/"udp" key of the parameters).</summary>
public enum Iperf3Protocol
{
    /// <summary>TCP data streams, each opened with the test's cookie.</summary>
    Tcp,

    /// <summary>UDP data streams, each opened with the "9876"/"6789" handshake.</summary>
    Udp,
}

/// <summary>Who sends on the data streams (iperf3's <c>mode</c> as seen by the client).</summary>
public enum Iperf3Direction
{
    /// <summary>The client sends (the default).</summary>
    ClientToServer,

    /// <summary>-R: the server sends.</summary>
    Reverse,

    /// <summary>--bidir: each side sends on streams of its own.</summary>
    Bidirectional,
}
