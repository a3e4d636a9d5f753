using System.Globalization;
using System.Text.RegularExpressions;

namespace Dataplane.Build.Pgo;

/// <summary>
/// The runtime's profile as text: what <c>DOTNET_WritePGOData=1</c> with <c>DOTNET_PGODataPath=FILE</c>
/// makes a JIT-run process write when it exits, the counts its instrumented code (tiered PGO)
/// gathered before tier 1 replaced it. Per method:
/// <code>
/// @@@ codehash 0x… methodhash 0x… ilSize 0x… records 0x…
/// MethodName: Namespace.Type`1[Argument].Method
/// Signature: instance generic bool  (class Namespace.Type,int32)
/// Schema InstrumentationKind 385 ILOffset 38 Count 1 Other 53
/// 12345                      (Count values, one a line; a handle histogram's are "TypeHandle: …")
/// </code>
/// A generic method's record does not say which instantiation it counted.
/// </summary>
internal static partial class PgoText
{
    /// <summary>The records of <paramref name="text"/>, in its order; lines it does not know are skipped.</summary>
    public static List<PgoMethod> Parse(IEnumerable<string> text)
    {
        var methods = new List<PgoMethod>();
        PgoMethod? method = null;
        PgoSchema? schema = null;
        foreach (string line in text)
        {
            if (line.StartsWith("@@@ ", StringComparison.Ordinal))
            {
                Match size = IlSize().Match(line);
                method = size.Success ? new PgoMethod(int.Parse(size.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture)) : null;
                if (method is not null)
                    methods.Add(method);
                schema = null;
            }
            else if (method is null)
            {
                continue;
            }
            else if (line.StartsWith("MethodName: ", StringComparison.Ordinal))
            {
                method.Name = line["MethodName: ".Length..];
            }
            else if (line.StartsWith("Signature: ", StringComparison.Ordinal))
            {
                method.Signature = line["Signature: ".Length..];
            }
            else if (SchemaLine().Match(line) is { Success: true } m)
            {
                schema = new PgoSchema(
                    int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
                    int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
                    int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture),
                    unchecked((int)long.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture)));
                method.Schemas.Add(schema);
            }
            else if (line.StartsWith("***", StringComparison.Ordinal))
            {
                method = null; // the end marker
                schema = null;
            }
            else if (schema is not null && long.TryParse(line, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value))
            {
                schema.Data.Add(value);
            }
            else if (schema is not null && line.Split(' ') is [string low, string high]
                && uint.TryParse(low, NumberStyles.None, CultureInfo.InvariantCulture, out uint lo) && uint.TryParse(high, NumberStyles.None, CultureInfo.InvariantCulture, out uint hi))
            {
                schema.Data.Add((long)((ulong)hi << 32 | lo)); // an eight-byte count, printed as its low and high halves
            }
        }
        return methods;
    }

    /// <summary>
    /// The records of several runs as one: a method in more than one, with the same probes, gets the
    /// sums of their counts (each run weighs by what it ran); with different probes (another build),
    /// the first run's record stands.
    /// </summary>
    public static List<PgoMethod> Merge(IEnumerable<List<PgoMethod>> runs)
    {
        var merged = new List<PgoMethod>();
        var byKey = new Dictionary<(string, string, int), PgoMethod>();
        foreach (List<PgoMethod> run in runs)
        {
            foreach (PgoMethod method in run)
            {
                if (!byKey.TryGetValue((method.Name, method.Signature, method.IlSize), out PgoMethod? first))
                {
                    byKey[(method.Name, method.Signature, method.IlSize)] = method;
                    merged.Add(method);
                }
                else if (first.Schemas.Count == method.Schemas.Count && first.Schemas.Zip(method.Schemas).All(p => p.First.SameProbe(p.Second)))
                {
                    foreach ((PgoSchema into, PgoSchema from) in first.Schemas.Zip(method.Schemas))
                    {
                        if (into.IsCount)
                        {
                            for (int i = 0; i < into.Data.Count; i++)
                                into.Data[i] += from.Data[i];
                        }
                    }
                }
            }
        }
        return merged;
    }

    [GeneratedRegex(@"ilSize 0x([0-9A-Fa-f]+)")]
    private static partial Regex IlSize();

    [GeneratedRegex(@"^Schema InstrumentationKind (\d+) ILOffset (\d+) Count (\d+) Other (\d+)$")]
    private static partial Regex SchemaLine();
}

/// <summary>One method's record: its name and signature as the runtime prints them, its IL size, its probes.</summary>
internal sealed class PgoMethod(int ilSize)
{
    public int IlSize { get; } = ilSize;

    public string Name { get; set; } = "";

    public string Signature { get; set; } = "";

    public List<PgoSchema> Schemas { get; } = [];

    /// <summary>A generic method (the signature says <c>generic</c>).</summary>
    public bool IsGenericMethod => Signature.StartsWith("generic ", StringComparison.Ordinal) || Signature.Contains(" generic ", StringComparison.Ordinal);

    /// <summary>Its block and edge counts, the probes a static profile carries (not the class and method histograms).</summary>
    public IEnumerable<PgoSchema> Counts => Schemas.Where(s => s.IsCount && s.Data.Count == s.Count);
}

/// <summary>
/// One probe (the JIT's PgoInstrumentationSchema): its kind, where in the IL, how many values and
/// a kind-specific field (an edge count's target offset), with the values counted.
/// </summary>
internal sealed class PgoSchema(int kind, int ilOffset, int count, int other)
{
    public int Kind { get; } = kind;

    public int IlOffset { get; } = ilOffset;

    public int Count { get; } = count;

    public int Other { get; } = other;

    public List<long> Data { get; } = [];

    /// <summary>
    /// A block or edge count of four or eight bytes, the probes whose values are numbers, not type or
    /// method handles. In corjit.h's kinds the bits from 6 up name the probe (1 a basic block, 6 an
    /// edge), bits 4 and 5 an alignment (none for counts) and the low four bits the value's size
    /// (1: four bytes, 2: eight).
    /// </summary>
    public bool IsCount => (Kind >> 6) is 1 or 6 && (Kind & 0x30) == 0 && (Kind & 0xF) is 1 or 2;

    /// <summary>The same probe (kind, place, size, other field) with as many values read.</summary>
    public bool SameProbe(PgoSchema other) =>
        Kind == other.Kind && IlOffset == other.IlOffset && Count == other.Count && Other == other.Other && Data.Count == other.Data.Count;
}
