using System.Globalization;
using System.Numerics;
using System.Text;

namespace Dataplane.Stack.Apps.Iperf3;

/// <summary>
/// The number formatting iperf3's reports rely on, digit for digit: glibc's printf <c>%.Nf</c> and
/// <c>%.Ng</c> (exact decimal expansion of the double, ties to even; .NET's "F" rounds ties away
/// from zero), and iperf3's units.c unit_snprintf. Report path only: it allocates.
/// </summary>
public static class Iperf3Format
{
    /// <summary>printf's <c>%.{precision}f</c> of <paramref name="value"/>, as glibc prints it.</summary>
    public static string Fixed(double value, int precision)
    {
        if (double.IsNaN(value))
            return "nan";
        if (double.IsInfinity(value))
            return value > 0 ? "inf" : "-inf";
        bool negative = value < 0 || (value == 0 && double.IsNegative(value));
        (BigInteger digits, int scale) = Exact(Math.Abs(value)); // |value| = digits / 10^scale
        BigInteger rounded;
        if (scale <= precision)
        {
            rounded = digits * BigInteger.Pow(10, precision - scale);
        }
        else
        {
            BigInteger divisor = BigInteger.Pow(10, scale - precision);
            rounded = BigInteger.DivRem(digits, divisor, out BigInteger remainder);
            int half = (remainder * 2).CompareTo(divisor);
            if (half > 0 || (half == 0 && !rounded.IsEven))
                rounded += 1;
        }
        string text = rounded.ToString(CultureInfo.InvariantCulture).PadLeft(precision + 1, '0');
        if (precision > 0)
            text = string.Concat(text.AsSpan(0, text.Length - precision), ".", text.AsSpan(text.Length - precision));
        return negative ? "-" + text : text;
    }

    /// <summary>printf's <c>%.{precision}g</c> of <paramref name="value"/>, as glibc prints it (trailing zeros dropped).</summary>
    public static string General(double value, int precision)
    {
        if (precision == 0)
            precision = 1;
        if (value == 0 || double.IsNaN(value) || double.IsInfinity(value))
            return value == 0 ? (double.IsNegative(value) ? "-0" : "0") : Fixed(value, 0);
        // The exponent X that %e would print at this precision, rounding included.
        string e = Exponential(value, precision - 1, out int exponent);
        if (precision > exponent && exponent >= -4)
            return TrimZeros(Fixed(value, precision - 1 - exponent));
        int mark = e.IndexOf('e', StringComparison.Ordinal);
        return TrimZeros(e[..mark]) + e[mark..];
    }

    /// <summary>printf's <c>%.{precision}e</c>, and its exponent.</summary>
    private static string Exponential(double value, int precision, out int exponent)
    {
        bool negative = value < 0;
        (BigInteger digits, int scale) = Exact(Math.Abs(value));
        int length = digits.ToString(CultureInfo.InvariantCulture).Length;
        exponent = length - 1 - scale;
        // Keep precision+1 significant digits, ties to even.
        int drop = length - (precision + 1);
        BigInteger kept = digits;
        if (drop > 0)
        {
            BigInteger divisor = BigInteger.Pow(10, drop);
            kept = BigInteger.DivRem(digits, divisor, out BigInteger remainder);
            int half = (remainder * 2).CompareTo(divisor);
            if (half > 0 || (half == 0 && !kept.IsEven))
                kept += 1;
            if (kept.ToString(CultureInfo.InvariantCulture).Length > precision + 1)
            {
                kept /= 10;
                exponent++;
            }
        }
        else if (drop < 0)
        {
            kept *= BigInteger.Pow(10, -drop);
        }
        string s = kept.ToString(CultureInfo.InvariantCulture);
        string mantissa = precision > 0 ? s[..1] + "." + s[1..] : s;
        string sign = exponent < 0 ? "-" : "+";
        return (negative ? "-" : "") + mantissa + "e" + sign + Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
    }

    private static string TrimZeros(string s)
    {
        if (!s.Contains('.', StringComparison.Ordinal))
            return s;
        s = s.TrimEnd('0');
        return s.EndsWith('.') ? s[..^1] : s;
    }

    /// <summary>The exact decimal value of a finite non-negative double: digits / 10^scale.</summary>
    private static (BigInteger Digits, int Scale) Exact(double value)
    {
        long bits = BitConverter.DoubleToInt64Bits(value);
        int biased = (int)((bits >> 52) & 0x7FF);
        long fraction = bits & 0xF_FFFF_FFFF_FFFF;
        BigInteger mantissa = biased == 0 ? fraction : fraction | (1L << 52);
        int exponent = (biased == 0 ? 1 : biased) - 1075;
        if (exponent >= 0)
            return (mantissa << exponent, 0);
        // m / 2^k = m * 5^k / 10^k
        return (mantissa * BigInteger.Pow(5, -exponent), -exponent);
    }

    /// <summary>Pads to <paramref name="width"/> on the left (printf's <c>%Ns</c>) or, negative, on the right (<c>%-Ns</c>).</summary>
    public static string Pad(string s, int width) => width >= 0 ? s.PadLeft(width) : s.PadRight(-width);

    /// <summary>
    /// iperf3's unit_snprintf: <paramref name="number"/> bytes as bytes (upper-case format: B, K, M,
    /// G, T, A adaptive, 1024-based) or bits (lower-case: b, k, m, g, t, a adaptive, 1000-based),
    /// printed in four places ("1.10 GByte", "9.42 Gbit", " 256 KByte"). The reports add "s" and "/sec".
    /// </summary>
    public static string Unit(double number, char format)
    {
        bool bytes = char.IsUpper(format);
        if (!bytes)
            number *= 8;
        int conversion;
        switch (char.ToUpperInvariant(format))
        {
            case 'B': conversion = 0; break;
            case 'K': conversion = 1; break;
            case 'M': conversion = 2; break;
            case 'G': conversion = 3; break;
            case 'T': conversion = 4; break;
            default:
                conversion = 0;
                double scaled = number;
                double step = bytes ? 1024.0 : 1000.0;
                while (scaled >= step && conversion < 4)
                {
                    scaled /= step;
                    conversion++;
                }
                break;
        }
        double factor = 1.0;
        for (int i = 0; i < conversion; i++)
            factor /= bytes ? 1024 : 1000;
        number *= factor;
        string label = bytes
            ? conversion switch { 0 => "Byte", 1 => "KByte", 2 => "MByte", 3 => "GByte", _ => "TByte" }
            : conversion switch { 0 => "bit", 1 => "Kbit", 2 => "Mbit", 3 => "Gbit", _ => "Tbit" };
        // Always four places: 9.995 would round to 10.0, 99.95 to 100.
        int precision = number < 9.995 ? 2 : number < 99.95 ? 1 : 0;
        var text = new StringBuilder(Pad(Fixed(number, precision), 4));
        return text.Append(' ').Append(label).ToString();
    }
}
