using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;

namespace Dataplane.Stack.Apps.Iperf3;

/// <summary>
/// How iperf3 3.12 frames and reads its JSON messages (iperf_api.c JSON_write, JSON_read): a 4-byte
/// big-endian length, then that many bytes of unformatted cJSON text, no terminator. Reading follows
/// cJSON's rules, not JSON's strictest: cJSON_GetObjectItem matches a key case-insensitively and takes
/// the first match, and a number's <c>valueint</c> is the double saturated to int64 (cJSON.c
/// parse_number), then narrowed by the C code to the type of the field it lands in.
/// </summary>
public static class Iperf3Json
{
    /// <summary>The length prefix.</summary>
    public const int LengthPrefix = 4;

    /// <summary>
    /// The largest JSON message this side accepts. iperf3 3.12 sets no bound (JSON_read callocs what
    /// the prefix says); 3.16 caps parameters at 8 KiB. Results carry a line per stream (128 at
    /// most) and, with --get-server-output, the server's whole report, so 1 MiB.
    /// </summary>
    public const int MaximumLength = 1 << 20;

    /// <summary>Options for JsonDocument: what cJSON accepts that JSON's strict grammar does not is not needed from iperf3, so strict.</summary>
    internal static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 16 };

    /// <summary>Appends <paramref name="json"/> to <paramref name="output"/> behind its 4-byte big-endian length.</summary>
    public static void WriteFrame(IBufferWriter<byte> output, ReadOnlySpan<byte> json)
    {
        Span<byte> prefix = output.GetSpan(LengthPrefix);
        BinaryPrimitives.WriteUInt32BigEndian(prefix, (uint)json.Length);
        output.Advance(LengthPrefix);
        output.Write(json);
    }

    /// <summary>The first property of <paramref name="obj"/> named <paramref name="name"/> ignoring ASCII case, as cJSON_GetObjectItem finds it.</summary>
    public static bool TryGetItem(JsonElement obj, string name, out JsonElement value)
    {
        if (obj.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty property in obj.EnumerateObject())
            {
                if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
                {
                    value = property.Value;
                    return true;
                }
            }
        }
        value = default;
        return false;
    }

    /// <summary>cJSON's <c>valuedouble</c>: the number, or 0 for anything that is not one.</summary>
    public static double ValueDouble(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double d) ? d : 0;

    /// <summary>cJSON's <c>valueint</c> (int64 in iperf3's copy of cJSON): the double saturated to int64, truncated toward zero.</summary>
    public static long ValueInt(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Number)
            return 0;
        if (value.TryGetInt64(out long exact))
            return exact;
        double d = ValueDouble(value);
        if (double.IsNaN(d))
            return 0;
        if (d >= long.MaxValue)
            return long.MaxValue;
        if (d <= long.MinValue)
            return long.MinValue;
        return (long)d;
    }

    /// <summary>
    /// <see cref="ValueInt"/> as the C code stores it in an <c>int</c>: the low 32 bits. This is how
    /// 3.12's <c>-1</c>, which its cJSON prints as 18446744073709551615 (an int64 printed with
    /// PRIu64), reads back as -1: the double saturates to INT64_MAX, whose low 32 bits are all ones.
    /// </summary>
    public static int ValueInt32(JsonElement value) => unchecked((int)ValueInt(value));

    /// <summary>cJSON's <c>valuestring</c>: the string, or null for anything that is not one.</summary>
    public static string? ValueString(JsonElement value) =>
        value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
