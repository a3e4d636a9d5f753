namespace Dataplane.Stack;

// The counter enums live in this folder but in Dataplane.Stack, the namespace every layer that
// counts already uses.

/// <summary>
/// Declares an enum <c>XCounter</c> as one protocol's counters, to the counters generator. It emits
/// the storage (<c>StackCounters.X</c> with <c>Count</c> and <c>Add</c>), the group
/// (<c>CounterGroup.X</c>) and the names (<c>CounterNames</c>: heading, texts, JSON keys, error
/// flags) that <c>netstat -s</c> and <c>stats --json</c> print. Each member needs a
/// <see cref="CounterAttribute"/>; its doc comment says what it counts.
/// </summary>
/// <param name="heading">The heading of <c>netstat -s</c> and the JSON key: the protocol as netstat names it ("ip", "icmp6").</param>
/// <param name="order">Where the group is printed: groups print by ascending order (gaps leave room for a protocol in between).</param>
[AttributeUsage(AttributeTargets.Enum, Inherited = false)]
internal sealed class CountersAttribute(string heading, int order) : Attribute
{
    /// <summary>The heading of <c>netstat -s</c> and the key of <c>stats --json</c>.</summary>
    public string Heading { get; } = heading;

    /// <summary>The print order, ascending.</summary>
    public int Order { get; } = order;
}

/// <summary>One counter of a <see cref="CountersAttribute"/> enum: its line in <c>netstat -s</c>, and whether it counts an error.</summary>
/// <param name="text">The line's text after the number, in the words of BSD's netstat.</param>
[AttributeUsage(AttributeTargets.Field, Inherited = false)]
internal sealed class CounterAttribute(string text) : Attribute
{
    /// <summary>The line's text after the number.</summary>
    public string Text { get; } = text;

    /// <summary>
    /// Whether the counter counts an error: bad input, resources running out, or neighbours and
    /// addresses in trouble. Policy drops, traffic not meant for us and ordinary protocol events
    /// are not errors. An error counter is repeated in the "errors" object of <c>stats --json</c>,
    /// which a test runner diffs to see whether an error moved.
    /// </summary>
    public bool Error { get; set; }
}
