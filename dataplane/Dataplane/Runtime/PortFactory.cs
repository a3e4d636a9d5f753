using Dataplane.Config;
using Dataplane.Drivers.Memory;
using Dataplane.Engine;

namespace Dataplane.Runtime;

/// <summary>A port that could not be opened: the message names the port and says why.</summary>
internal sealed class PortOpenException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Opens the ports a config names, with the driver each asks for.</summary>
internal static class PortFactory
{
    /// <summary>Opens <paramref name="port"/>; throws <see cref="PortOpenException"/> naming it when it cannot.</summary>
    public static PortBinding Open(PortConfig port, DataplaneConfig config)
    {
        switch (port.Driver)
        {
            case PortDriver.Memory:
                // A memory port alone is looped to itself: what it sends comes back in.
                MemoryPort memory = MemoryPort.CreateLoopback(port.Name, port.Queues);
                return new PortBinding(memory, q => new QueuePoller<MemoryQueue>(memory.Queue(q)));
            default:
                throw new PortOpenException($"port {port.Name} (line {port.Line}): the {port.Driver.Keyword()} driver is not available yet");
        }
    }
}
