using Dataplane.Engine;

namespace Dataplane.Stack.Transport;

/// <summary>
/// Where a flow's packets land: the worker the engine's symmetric Toeplitz hash of the four-tuple
/// gives. UDP and TCP choose the local port of a connection so that the peer's packets come back
/// to the worker that holds it.
/// </summary>
internal static class FlowPlacement
{
    /// <summary>True when the peer's packets to <paramref name="local"/> from <paramref name="remote"/> reach the worker of <paramref name="context"/>.</summary>
    public static bool LandsOn(WorkerContext context, in InetEndpoint local, in InetEndpoint remote)
    {
        if (context.FlowHash is not { } hash || context.FlowOwners is not { } owners || owners.WorkerCount <= 1)
            return true;
        return owners.OwnerOf(ReplyHash(hash, local, remote)) == context.Index;
    }

    /// <summary>The hash <see cref="Worker{TProcessor}"/> computes for a packet from <paramref name="remote"/> to <paramref name="local"/>.</summary>
    public static uint ReplyHash(ToeplitzHash hash, in InetEndpoint local, in InetEndpoint remote)
        => local.IsIpv6
            ? hash.HashIpv6(remote.Address, local.Address, remote.Port, local.Port)
            : hash.HashIpv4(remote.Address4, local.Address4, remote.Port, local.Port);
}
