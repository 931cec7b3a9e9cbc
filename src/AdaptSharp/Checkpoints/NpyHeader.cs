using System.Globalization;
using static TorchSharp.torch;

namespace AdaptSharp.Checkpoints;

/// <summary>
/// The Python dict literal of a .npy header, e.g. {'descr': '&lt;f4', 'fortran_order': False, 'shape': (2, 3), }.
/// Parsed with a small tokenizer: string keys, and values that are strings, True/False or tuples of integers.
/// </summary>
internal sealed record NpyHeader(string Descr, ScalarType Type, long[] Shape)
{
    private static readonly Dictionary<string, ScalarType> Types = new(StringComparer.Ordinal)
    {
        ["<f2"] = ScalarType.Float16,
        ["<f4"] = ScalarType.Float32,
        ["<f8"] = ScalarType.Float64,
        ["|u1"] = ScalarType.Byte,
        ["<u1"] = ScalarType.Byte,
        ["|i1"] = ScalarType.Int8,
        ["<i1"] = ScalarType.Int8,
        ["<i2"] = ScalarType.Int16,
        ["<i4"] = ScalarType.Int32,
        ["<i8"] = ScalarType.Int64,
        ["|b1"] = ScalarType.Bool,
    };

    public static string DescrOf(ScalarType type) => type switch
    {
        ScalarType.Float16 => "<f2",
        ScalarType.Float32 => "<f4",
        ScalarType.Float64 => "<f8",
        ScalarType.Byte => "|u1",
        ScalarType.Int8 => "|i1",
        ScalarType.Int16 => "<i2",
        ScalarType.Int32 => "<i4",
        ScalarType.Int64 => "<i8",
        ScalarType.Bool => "|b1",
        ScalarType.BFloat16 => throw new ArgumentException("NumPy has no bfloat16: convert the tensor to float32 before saving it as .npy"),
        _ => throw new ArgumentException($"tensors of type {type} cannot be saved as .npy"),
    };

    public static NpyHeader Parse(string text, string label)
    {
        var parser = new Parser(text, label);
        var dict = parser.ParseDict();
        foreach (var key in dict.Keys)
        {
            if (key is not ("descr" or "fortran_order" or "shape"))
                throw CheckpointFormatException.For(label, $".npy header has unexpected key '{Printable(key)}'");
        }
        if (!dict.TryGetValue("descr", out var descrValue) || descrValue is not string descr)
            throw CheckpointFormatException.For(label, ".npy header lacks a string 'descr'");
        if (!dict.TryGetValue("fortran_order", out var fortranValue) || fortranValue is not bool fortran)
            throw CheckpointFormatException.For(label, ".npy header lacks a True/False 'fortran_order'");
        if (!dict.TryGetValue("shape", out var shapeValue) || shapeValue is not long[] shape)
            throw CheckpointFormatException.For(label, ".npy header lacks a 'shape' tuple");
        if (fortran)
            throw CheckpointFormatException.For(label,
                ".npy array is in Fortran (column-major) order, only C order is supported: save np.ascontiguousarray(a) instead");
        if (!Types.TryGetValue(descr, out var type))
        {
            var hint = descr.StartsWith('>')
                ? $"big-endian data is not supported: save a.astype('<{Printable(descr[1..])}') instead"
                : $"supported: {string.Join(" ", Types.Keys)}";
            throw CheckpointFormatException.For(label, $".npy dtype '{Printable(descr)}' is not supported ({hint})");
        }
        return new NpyHeader(descr, type, shape);
    }

    /// <summary>Text from the file as it may appear in a one-line message: control characters escaped, at most 40 characters.</summary>
    internal static string Printable(string text)
    {
        var escaped = string.Concat(text.Take(40).Select(c => char.IsControl(c) || char.IsSurrogate(c) || c is '\u2028' or '\u2029'
            ? $"\\u{(int)c:x4}" : c.ToString()));
        return text.Length > 40 ? escaped + "..." : escaped;
    }

    private sealed class Parser(string text, string label)
    {
        private int position;

        public Dictionary<string, object> ParseDict()
        {
            var result = new Dictionary<string, object>(StringComparer.Ordinal);
            Expect('{');
            while (true)
            {
                SkipSpace();
                if (TryConsume('}'))
                    break;
                var key = ParseString();
                Expect(':');
                var value = ParseValue();
                if (!result.TryAdd(key, value))
                    throw Error($"key '{Printable(key)}' appears twice");
                SkipSpace();
                if (TryConsume(','))
                    continue;
                Expect('}');
                break;
            }
            SkipSpace();
            if (position != text.Length)
                throw Error("unexpected text after the closing '}'");
            return result;
        }

        private object ParseValue()
        {
            SkipSpace();
            if (position >= text.Length)
                throw Error("header ended where a value was expected");
            var c = text[position];
            if (c is '\'' or '"')
                return ParseString();
            if (c == '(')
                return ParseTuple();
            if (Match("True"))
                return true;
            if (Match("False"))
                return false;
            throw Error($"unexpected value starting at '{Excerpt()}'");
        }

        private long[] ParseTuple()
        {
            Expect('(');
            var items = new List<long>();
            var sawComma = false;
            while (true)
            {
                SkipSpace();
                if (TryConsume(')'))
                    break;
                items.Add(ParseInteger());
                SkipSpace();
                if (TryConsume(','))
                {
                    sawComma = true;
                    continue;
                }
                Expect(')');
                break;
            }
            if (items.Count == 1 && !sawComma)
                throw Error("a one-element shape must be written '(n,)'");
            return items.ToArray();
        }

        private long ParseInteger()
        {
            var start = position;
            while (position < text.Length && char.IsAsciiDigit(text[position]))
                position++;
            if (start == position)
                throw Error($"expected a non-negative integer at '{Excerpt()}'");
            var digits = text[start..position];
            if (position < text.Length && text[position] is 'L' or 'l')
                position++; // Python 2 long suffix
            return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                ? n
                : throw Error($"dimension '{Printable(digits)}' is too large");
        }

        private string ParseString()
        {
            SkipSpace();
            if (position >= text.Length || text[position] is not ('\'' or '"'))
                throw Error($"expected a quoted string at '{Excerpt()}'");
            var quote = text[position++];
            var end = text.IndexOf(quote, position);
            if (end < 0)
                throw Error("unterminated string");
            var s = text[position..end];
            position = end + 1;
            return s;
        }

        private bool Match(string word)
        {
            if (string.CompareOrdinal(text, position, word, 0, word.Length) != 0)
                return false;
            position += word.Length;
            return true;
        }

        private void Expect(char c)
        {
            SkipSpace();
            if (!TryConsume(c))
                throw Error($"expected '{c}' at '{Excerpt()}'");
        }

        private bool TryConsume(char c)
        {
            if (position < text.Length && text[position] == c)
            {
                position++;
                return true;
            }
            return false;
        }

        private void SkipSpace()
        {
            while (position < text.Length && char.IsWhiteSpace(text[position]))
                position++;
        }

        private string Excerpt()
        {
            var rest = text[Math.Min(position, text.Length)..];
            return Printable(rest.Length > 20 ? rest[..20] : rest) + (rest.Length > 20 ? "..." : "");
        }

        private CheckpointFormatException Error(string problem) =>
            CheckpointFormatException.For(label, $"bad .npy header: {problem}");
    }
}
