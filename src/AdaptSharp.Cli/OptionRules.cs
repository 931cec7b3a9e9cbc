using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace AdaptSharp.Cli;

/// <summary>
/// Range checks attached to options, so a bad value is a parse error (one `adapt: ...` line, exit 2) before any work.
/// </summary>
internal static class OptionRules
{
    /// <summary>An integer (int, int? or long?) in [min, max].</summary>
    public static Option<T> Between<T>(this Option<T> option, long min, long max = long.MaxValue)
    {
        var expected = max >= int.MaxValue ? $"an integer >= {min}" : $"an integer from {min} to {max}";
        option.Validators.Add(r => Check(r, option.Name, Value<T>(r) is { } v && Convert.ToInt64(v, CultureInfo.InvariantCulture) is var x && (x < min || x > max), expected));
        return option;
    }

    /// <summary>A finite number with <paramref name="accept"/> true; <paramref name="what"/> says which numbers, e.g. "> 0".</summary>
    public static Option<double?> Where(this Option<double?> option, Func<double, bool> accept, string what)
    {
        option.Validators.Add(r => Check(r, option.Name, Value<double?>(r) is double v && (!double.IsFinite(v) || !accept(v)),
            $"a finite number {what}"));
        return option;
    }

    /// <summary>The converted value, or null when there is none or the token does not convert (System.CommandLine reports that itself).</summary>
    private static object? Value<T>(OptionResult result)
    {
        try
        {
            return result.GetValueOrDefault<T>();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static void Check(OptionResult result, string name, bool bad, string expected)
    {
        if (!bad)
            return;
        var given = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} must be {expected}, got '{given}'"));
    }
}
