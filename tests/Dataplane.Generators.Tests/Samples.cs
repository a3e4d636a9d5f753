namespace Dataplane.Generators.Tests;

/// <summary>Declarations the generator tests compile: one per shape the generator handles.</summary>
internal static class Samples
{
    /// <summary>A variable-length header with bit fields, a flag set, an expected value, a total length, options and a header checksum.</summary>
    public const string Ipv4Like = """
        using System;
        using Dataplane.Wire;

        namespace Samples;

        [Flags]
        public enum SampleFlags : byte { None = 0, More = 1, DontSplit = 2 }

        [WireHeader(20)]
        [HeaderLength(nameof(Ihl), Unit = 4)]
        [TotalLength(nameof(TotalLength))]
        [Options(OptionFormat.KindLength)]
        public readonly ref partial struct SampleIpv4
        {
            [Bits(0, 4), Expect(4)] public partial byte Version { get; set; }
            [Bits(4, 4)] public partial byte Ihl { get; set; }
            [Field(1)] public partial byte TypeOfService { get; set; }
            [Field(2)] public partial ushort TotalLength { get; set; }
            [Field(4)] public partial ushort Identification { get; set; }
            [Bits(48, 3)] public partial SampleFlags Flags { get; set; }
            [Bits(51, 13)] public partial ushort FragmentOffset { get; set; }
            [Field(8)] public partial byte TimeToLive { get; set; }
            [Field(9)] public partial byte Protocol { get; set; }
            [Field(10), Checksum(ChecksumScope.Header)] public partial ushort HeaderChecksum { get; set; }
            [Field(12)] public partial Ipv4Address Source { get; set; }
            [Field(16)] public partial Ipv4Address Destination { get; set; }
        }
        """;

    /// <summary>A fixed header with a pseudo-header checksum over the whole datagram.</summary>
    public const string UdpLike = """
        using Dataplane.Wire;

        namespace Samples;

        [WireHeader(8)]
        [TotalLength(nameof(Length))]
        public readonly ref partial struct SampleUdp
        {
            [Field(0)] public partial ushort SourcePort { get; set; }
            [Field(2)] public partial ushort DestinationPort { get; set; }
            [Field(4)] public partial ushort Length { get; set; }
            [Field(6), Checksum(ChecksumScope.Packet, PseudoHeaderProtocol = 17, ZeroMeansNone = true)]
            public partial ushort Checksum { get; set; }
        }
        """;

    /// <summary>Length grown by repeated elements, records in the payload, little-endian and 24-bit fields.</summary>
    public const string Records = """
        using Dataplane.Wire;

        namespace Samples;

        [WireHeader(8)]
        [ExtraLength(nameof(Count), Unit = 4)]
        public readonly ref partial struct SampleRecord
        {
            [Field(0)] public partial byte Kind { get; set; }
            [Bits(8, 24)] public partial uint Tag { get; set; }
            [Field(4)] public partial ushort Count { get; set; }
            [Field(6, ByteOrder = ByteOrder.LittleEndian)] public partial ushort Cookie { get; set; }
        }

        [WireHeader(4)]
        [Records(typeof(SampleRecord), nameof(RecordCount))]
        public readonly ref partial struct SampleReport
        {
            [Field(0)] public partial ushort Reserved { get; set; }
            [Field(2)] public partial ushort RecordCount { get; set; }
        }
        """;
}
