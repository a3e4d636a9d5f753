using Dataplane.Config;
using Dataplane.Drivers.AfPacket;
using Dataplane.Drivers.AfXdp;
using Dataplane.Drivers.Memory;
using Dataplane.Drivers.Tap;
using Dataplane.Drivers.Vfio;
using Dataplane.Drivers.Vfio.E1000e;
using Dataplane.Drivers.Vfio.VirtioNet;
using Dataplane.Drivers.Vfio.Vmxnet3;
using Dataplane.Engine;
using Dataplane.Ports;

namespace Dataplane.Runtime;

/// <summary>A port that could not be opened: the message names the port and says why.</summary>
internal sealed class PortOpenException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Opens the ports a config names, with the driver each asks for.</summary>
internal static class PortFactory
{
    /// <summary>
    /// Opens <paramref name="port"/>, the <paramref name="index"/>th of the config; throws
    /// <see cref="PortOpenException"/> or the driver's NativeException naming it when it cannot.
    /// <paramref name="log"/> takes what a driver has to say while it opens (afxdp: native XDP refused).
    /// </summary>
    public static PortBinding Open(PortConfig port, int index, DataplaneConfig config, Action<string>? log = null)
    {
        int? mtu = config.Mtus.FirstOrDefault(m => m.Interface == port.Name)?.Mtu;
        switch (port.Driver)
        {
            case PortDriver.Memory:
                // A memory port alone is looped to itself: what it sends comes back in.
                MemoryPort memory = MemoryPort.CreateLoopback(port.Name, port.Queues);
                return new PortBinding(memory, (q, _) => new MemoryQueuePath(memory.Queue(q))) { Lro = config.LroOn(port) };
            case PortDriver.Tap:
                // tso: the stack may write super-frames (the kernel segments them); lro: the kernel may
                // hand us super-frames (TUN_F_TSO4/6), which the stack forwards whole or cuts.
                var tap = new TapPort(port.Name, port.IfName!, port.Queues, tso: config.TsoOn(port), mtu, (ushort)index, lro: config.LroOn(port), log);
                return new PortBinding(tap, (q, cache) => new TapQueuePath(tap.Queue(q, cache))) { Lro = config.LroOn(port) };
            case PortDriver.AfPacket:
                // tso: super-frames leave whole by sendmsg with their virtio-net header (the kernel
                // segments them); the kernel's GRO hands us super-frames whatever lro says.
                AfPacketPort packet = AfPacketPort.Open(port.Name, port.IfName!, port.Queues, (ushort)index, tso: config.TsoOn(port), mtu: mtu, log);
                return new PortBinding(packet, (q, cache) => new AfPacketQueuePath(packet.Queue(q, cache))) { Lro = config.LroOn(port) };
            case PortDriver.AfXdp:
                // No offloads: XDP frames carry no checksum state and no super-frames (one frame a
                // chunk), so tso and lro are the stack's own (it cuts or merges in software).
                AfXdpPort xdp = AfXdpPort.Open(port.Name, port.IfName!, port.Queues, (ushort)index, log);
                return new PortBinding(xdp, (q, cache) => new AfXdpQueuePath(xdp.Queue(q, cache))) { Lro = config.LroOn(port) };
            case PortDriver.Vfio:
                // The function's vendor and device IDs pick the driver (VfioDevices); tso asks the
                // device to segment (HOST_TSO4/6), lro lets it hand us super-frames (GUEST_TSO4/6).
                IPort vfio = VfioDevices.Open(port.Name, VfioPciFunction.Open(port.Name, port.Pci!.Value.ToString()), port.Queues, (ushort)index,
                    tso: config.TsoOn(port), lro: config.LroOn(port), mtu);
                if (vfio is VirtioNetPort virtio)
                    return new PortBinding(virtio, (q, cache) => new VirtioNetQueuePath(virtio.Queue(q, cache))) { Lro = config.LroOn(port) };
                if (vfio is E1000ePort e1000e)
                    return new PortBinding(e1000e, (q, cache) => new E1000eQueuePath(e1000e.Queue(q, cache))) { Lro = config.LroOn(port) };
                if (vfio is Vmxnet3Port vmxnet3)
                    return new PortBinding(vmxnet3, (q, cache) => new Vmxnet3QueuePath(vmxnet3.Queue(q, cache))) { Lro = config.LroOn(port) };
                vfio.Dispose();
                throw new PortOpenException($"port {port.Name} (line {port.Line}): no packet path for the {vfio.Mode} driver");
            default:
                throw new PortOpenException($"port {port.Name} (line {port.Line}): the {port.Driver.Keyword()} driver is not available yet");
        }
    }
}
