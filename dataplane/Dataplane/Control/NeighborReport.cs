using System.Globalization;
using System.Text;
using Dataplane.Engine;
using Dataplane.Stack;
using Dataplane.Stack.Neighbors;
using Dataplane.Wire;

namespace Dataplane.Control;

/// <summary>
/// <c>ctl arp -a</c> and <c>ctl ndp -a</c>: the neighbour caches in the layout of OpenBSD's
/// <c>arp -an</c> and <c>ndp -an</c>, one neighbour a line, with the time its answer stays fresh
/// and its state.
/// </summary>
internal static class NeighborReport
{
    /// <summary>The ARP caches of every interface.</summary>
    public static string WriteArp(NetworkStack stack) => Write(stack, stack.Arp, "Host", "Ethernet Address");

    /// <summary>The IPv6 neighbour caches of every interface.</summary>
    public static string WriteNdp(NetworkStack stack) => Write(stack, stack.Nd, "Neighbor", "Linklayer Address");

    private static string Write<TAddress>(NetworkStack stack, NeighborTable<TAddress>[] tables, string hostHeading, string macHeading)
        where TAddress : struct, IEquatable<TAddress>
    {
        long now = EngineClock.Nanoseconds();
        var text = new StringBuilder();
        Line(text, $"{hostHeading,-39} {macHeading,-17} {"Netif",-8} {"Expire",-8} State");
        for (int i = 0; i < tables.Length; i++)
        {
            foreach (NeighborEntry<TAddress> entry in tables[i].Entries)
            {
                NeighborState state = entry.StateAt(now, NeighborTable<TAddress>.ReachableTime);
                string mac = entry.HasMac ? entry.Mac.ToString() : "(incomplete)";
                string expire = state == NeighborState.Reachable ? Duration(entry.Confirmed + NeighborTable<TAddress>.ReachableTime - now) : "expired";
                Line(text, $"{entry.Address,-39} {mac,-17} {stack.Interfaces[i].Name,-8} {expire,-8} {state.ToString().ToLowerInvariant()}");
            }
        }
        return text.ToString();
    }

    private static string Duration(long nanoseconds)
    {
        long seconds = Math.Max(0, nanoseconds / 1_000_000_000);
        return seconds >= 60 ? $"{seconds / 60}m{seconds % 60}s" : $"{seconds}s";
    }

    private static void Line(StringBuilder text, FormattableString line)
        => text.Append(line.ToString(CultureInfo.InvariantCulture)).Append('\n');
}
