using System.Buffers;
using System.Buffers.Binary;

namespace Dataplane.Stack.Apps.Iperf3;

/// <summary>What a session tells its host, one at a time, through TryDequeueEvent.</summary>
public enum Iperf3EventKind
{
    /// <summary>The parameters are agreed: the server accepts, the client opens, the data streams (see the session's counts).</summary>
    StreamsRequested,

    /// <summary>TEST_RUNNING: the streams count, and senders send.</summary>
    TestStarted,

    /// <summary>The test is over: senders stop; the server closes its data streams now, the client may keep draining until <see cref="Finished"/>.</summary>
    TestEnded,

    /// <summary>The session is over (see its Error): close every connection of the test.</summary>
    Finished,
}

/// <summary>One thing a session tells its host; details are on the session.</summary>
/// <param name="Kind">What happened.</param>
public readonly record struct Iperf3Event(Iperf3EventKind Kind);

/// <summary>
/// The byte plumbing of a control connection, shared by both sessions: what came in and is not
/// consumed yet (TCP is a byte stream: a state byte, a length prefix or a JSON text may arrive in
/// any number of pieces, or several in one), and what waits to be sent. Control-path only.
/// </summary>
internal sealed class Iperf3ControlChannel
{
    private byte[] _in = new byte[256];
    private int _inStart;
    private int _inEnd;
    private readonly ArrayBufferWriter<byte> _out = new(256);
    private int _outStart;
    private readonly Queue<Iperf3Event> _events = new();

    /// <summary>Bytes received and not consumed.</summary>
    public ReadOnlySpan<byte> Input => _in.AsSpan(_inStart, _inEnd - _inStart);

    /// <summary>Bytes waiting to be sent.</summary>
    public ReadOnlySpan<byte> Output => _out.WrittenSpan[_outStart..];

    /// <summary>Keeps <paramref name="data"/> behind what is unconsumed.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        if (_inEnd + data.Length > _in.Length)
        {
            int live = _inEnd - _inStart;
            byte[] target = live + data.Length > _in.Length ? new byte[Math.Max(_in.Length * 2, live + data.Length)] : _in;
            _in.AsSpan(_inStart, live).CopyTo(target);
            _in = target;
            _inStart = 0;
            _inEnd = live;
        }
        data.CopyTo(_in.AsSpan(_inEnd));
        _inEnd += data.Length;
    }

    /// <summary>Drops <paramref name="count"/> consumed bytes.</summary>
    public void Consume(int count)
    {
        _inStart += count;
        if (_inStart == _inEnd)
            _inStart = _inEnd = 0;
    }

    /// <summary>
    /// Takes a whole length-prefixed JSON text when it is all there: true with the text in
    /// <paramref name="json"/> (valid until the next Append); false while it is incomplete, or with
    /// <paramref name="tooLong"/> when its length passes <see cref="Iperf3Json.MaximumLength"/>.
    /// </summary>
    public bool TryTakeFrame(out byte[] json, out bool tooLong)
    {
        json = [];
        tooLong = false;
        ReadOnlySpan<byte> input = Input;
        if (input.Length < Iperf3Json.LengthPrefix)
            return false;
        uint length = BinaryPrimitives.ReadUInt32BigEndian(input);
        if (length > Iperf3Json.MaximumLength)
        {
            tooLong = true;
            return false;
        }
        if (input.Length < Iperf3Json.LengthPrefix + (int)length)
            return false;
        json = input.Slice(Iperf3Json.LengthPrefix, (int)length).ToArray();
        Consume(Iperf3Json.LengthPrefix + (int)length);
        return true;
    }

    /// <summary>Queues raw bytes to send.</summary>
    public void Send(ReadOnlySpan<byte> bytes) => _out.Write(bytes);

    /// <summary>Queues a state byte.</summary>
    public void Send(Iperf3State state) => _out.Write([unchecked((byte)(sbyte)state)]);

    /// <summary>Queues a length-prefixed JSON text.</summary>
    public void SendFrame(ReadOnlySpan<byte> json) => Iperf3Json.WriteFrame(_out, json);

    /// <summary>The host sent <paramref name="count"/> bytes of <see cref="Output"/>.</summary>
    public void AdvanceOutput(int count)
    {
        if ((uint)count > (uint)Output.Length)
            throw new ArgumentOutOfRangeException(nameof(count));
        _outStart += count;
        if (_outStart == _out.WrittenCount)
        {
            _out.ResetWrittenCount();
            _outStart = 0;
        }
    }

    /// <summary>Tells the host something.</summary>
    public void Raise(Iperf3EventKind kind) => _events.Enqueue(new Iperf3Event(kind));

    /// <summary>The next thing to tell the host.</summary>
    public bool TryDequeue(out Iperf3Event e) => _events.TryDequeue(out e);
}
