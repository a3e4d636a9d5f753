using Dataplane.Engine;

namespace Dataplane.Stack.Transport.Tcp;

/// <summary>
/// The connections of one worker that used their share of a turn (<see cref="TcpSocket.TurnShare"/>)
/// and go on at the start of the next: a list threaded through the sockets themselves, so putting
/// one on it allocates nothing, and each socket is on it at most once.
/// </summary>
internal sealed class TcpTurnQueue : ITurnWork
{
    private TcpSocket? _head;
    private TcpSocket? _tail;

    /// <inheritdoc/>
    public bool HasDeferred => _head is not null;

    /// <summary>Puts <paramref name="socket"/> on the list, unless it is on it already.</summary>
    public void Add(TcpSocket socket)
    {
        if (socket.WaitsForTurn)
            return;
        socket.WaitsForTurn = true;
        socket.NextInTurn = null;
        if (_tail is null)
            _head = socket;
        else
            _tail.NextInTurn = socket;
        _tail = socket;
    }

    /// <inheritdoc/>
    public int RunDeferred()
    {
        // The list is taken whole first: a connection that uses up this turn's share again goes on
        // the next turn's list.
        TcpSocket? socket = _head;
        _head = _tail = null;
        int ran = 0;
        while (socket is not null)
        {
            TcpSocket? next = socket.NextInTurn;
            socket.NextInTurn = null;
            socket.WaitsForTurn = false;
            socket.TakeTurn();
            ran++;
            socket = next;
        }
        return ran;
    }
}
