namespace Dataplane.Generators.Tests;

/// <summary>Counter enums the counters tests compile, and code that uses what is emitted for them.</summary>
internal static class CountersSamples
{
    /// <summary>Printed second though declared first; a digit in a member name, as in ZeroChecksum6.</summary>
    public const string Udp = """
        using Dataplane.Stack;

        namespace Samples;

        /// <summary>UDP counters.</summary>
        [Counters("udp", order: 20)]
        internal enum UdpCounter
        {
            /// <summary>Datagrams received.</summary>
            [Counter("datagrams received")]
            Received,

            /// <summary>Checksum did not verify.</summary>
            [Counter("bad checksums", Error = true)]
            BadChecksum,

            /// <summary>IPv6 datagrams with a zero checksum.</summary>
            [Counter("IPv6 datagrams with a zero checksum")]
            ZeroChecksum6,
        }
        """;

    /// <summary>Printed first; texts with an apostrophe and with characters a literal must escape.</summary>
    public const string Ip = """
        using Dataplane.Stack;

        namespace Samples;

        /// <summary>IPv4 counters.</summary>
        [Counters("ip", order: 10)]
        internal enum IpCounter
        {
            /// <summary>Total packets received.</summary>
            [Counter("total packets received")]
            Received,

            /// <summary>Header checksum did not verify.</summary>
            [Counter("bad header checksums", Error = true)]
            BadChecksum,

            /// <summary>Too big with don't-fragment set.</summary>
            [Counter("packets not forwarded: need fragmentation with don't fragment set")]
            CantFragment,

            /// <summary>A text with a quote and a backslash.</summary>
            [Counter("packets \"quoted\" \\ escaped", Error = false)]
            Quoted,
        }
        """;

    /// <summary>The call sites the stack's layers have, against the emitted storage and names.</summary>
    public const string Use = """
        using System.Collections.Immutable;

        namespace Samples;

        internal static class Use
        {
            public static long Counting(StackCounters counters)
            {
                counters.Count(IpCounter.BadChecksum);
                counters.Add(IpCounter.Received, 3);
                counters.Count(UdpCounter.ZeroChecksum6);
                counters.Add(UdpCounter.Received, 2);
                return counters.Ip[(int)IpCounter.Received] + counters.Of(CounterGroup.Udp)[(int)UdpCounter.Received];
            }

            public static string Naming()
            {
                ImmutableArray<string> texts = CounterNames.Texts(CounterGroup.Ip);
                return CounterNames.Heading(CounterNames.Groups[0]) + texts[0] + CounterNames.Keys(CounterGroup.Udp)[2]
                    + CounterNames.IsError(CounterGroup.Ip, (int)IpCounter.BadChecksum);
            }
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
