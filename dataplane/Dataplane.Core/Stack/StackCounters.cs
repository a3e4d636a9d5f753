namespace Dataplane.Stack;

/// <summary>
/// The stack's counters of one worker, one array per protocol indexed by that protocol's counter
/// enum. Written only by the worker that owns them, without locks; <c>netstat -s</c> sums them over
/// the workers (see the remarks of DataplaneView on reading them from another thread).
/// </summary>
/// <remarks>
/// The arrays and the <c>Count</c> and <c>Add</c> of each group, <see cref="CounterGroup"/> and
/// <see cref="CounterNames"/> are emitted by the counters generator from the <c>[Counters]</c>
/// enums in Counters/: a protocol's counters are declared once, on its enum.
/// </remarks>
internal sealed partial class StackCounters
{
}
