namespace Dataplane.Generators.Tests;

/// <summary>Driver queue structs the packet-path tests compile: one per kind of receive fact.</summary>
internal static class PacketPathSamples
{
    /// <summary>
    /// A NIC programmed with the symmetric Toeplitz key: the hash is on every frame, so the path has
    /// no software-hash branch. Its receive mutates the struct, which the path must call in place.
    /// </summary>
    public const string Nic = """
        using System;
        using Dataplane.Buffers;
        using Dataplane.Native;
        using Dataplane.Ports;

        namespace Samples;

        [PacketPath("nic", Checksum = OffloadReport.PerFrame, RssHash = OffloadReport.EveryFrame, Lro = OffloadReport.Never)]
        internal struct NicQueue : IQueuePair
        {
            private uint _head;

            public int Receive(Span<PacketBuffer> burst)
            {
                _head++;
                return 0;
            }

            public readonly int Transmit(ReadOnlySpan<PacketBuffer> burst) => burst.Length;

            public readonly FileDescriptor? ReadinessDescriptor => null;
        }
        """;

    /// <summary>A host-backed driver like tap: checksum state and super-frames per frame, no usable hash.</summary>
    public const string Host = """
        using System;
        using Dataplane.Buffers;
        using Dataplane.Native;
        using Dataplane.Ports;

        namespace Samples;

        [PacketPath("host", Checksum = OffloadReport.PerFrame, RssHash = OffloadReport.Never, Lro = OffloadReport.PerFrame)]
        internal readonly struct HostQueue : IQueuePair
        {
            public int Receive(Span<PacketBuffer> burst) => 0;

            public int Transmit(ReadOnlySpan<PacketBuffer> burst) => burst.Length;

            public FileDescriptor? ReadinessDescriptor => null;
        }
        """;

    /// <summary>A driver that promises nothing, like memory: every flag is read per frame.</summary>
    public const string Loop = """
        using System;
        using Dataplane.Buffers;
        using Dataplane.Native;
        using Dataplane.Ports;

        namespace Samples;

        [PacketPath("loop")]
        internal readonly struct LoopQueue : IQueuePair
        {
            public int Receive(Span<PacketBuffer> burst) => 0;

            public int Transmit(ReadOnlySpan<PacketBuffer> burst) => burst.Length;

            public FileDescriptor? ReadinessDescriptor => null;
        }
        """;

    /// <summary>
    /// A NIC that checks every checksum and never merges, but gives no usable hash: the stack is
    /// compiled to trust the checksums and not look for super-frames, without reading either flag.
    /// </summary>
    public const string Checked = """
        using System;
        using Dataplane.Buffers;
        using Dataplane.Native;
        using Dataplane.Ports;

        namespace Samples;

        [PacketPath("checked", Checksum = OffloadReport.EveryFrame, RssHash = OffloadReport.Never, Lro = OffloadReport.Never)]
        internal readonly struct CheckedQueue : IQueuePair
        {
            public int Receive(Span<PacketBuffer> burst) => 0;

            public int Transmit(ReadOnlySpan<PacketBuffer> burst) => burst.Length;

            public FileDescriptor? ReadinessDescriptor => null;
        }
        """;

    /// <summary>A file with nothing for the generator, to edit in incrementality tests.</summary>
    public const string Unrelated = """
        namespace Samples;
        public static class Unrelated
        {
            public static int Answer() => 42;
        }
        """;
}
