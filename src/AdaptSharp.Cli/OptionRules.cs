using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace AdaptSharp.Cli;

/// <summary>
/// Range checks attached to options, so a bad value is a parse error (one `adapt: ...` line, exit 2) before any work.
/// </summary>
internal static class OptionRules
{
    /// <summary>An integer in [min, max].</summary>
    public static Option<int?> Between(this Option<int?> option, int min, int max = int.MaxValue)
    {
        option.Validators.Add(r => Check(r, option.Name, Value<int?>(r) is int v && (v < min || v > max), Range(min, max)));
        return option;
    }

    /// <summary>An integer in [min, max].</summary>
    public static Option<int> Between(this Option<int> option, int min, int max = int.MaxValue)
    {
        option.Validators.Add(r => Check(r, option.Name, Value<int?>(r) is int v && (v < min || v > max), Range(min, max)));
        return option;
    }

    /// <summary>An integer in [min, max].</summary>
    public static Option<long?> Between(this Option<long?> option, long min, long max = long.MaxValue)
    {
        option.Validators.Add(r => Check(r, option.Name, Value<long?>(r) is long v && (v < min || v > max),
            max == long.MaxValue ? $"at least {min}" : $"from {min} to {max}"));
        return option;
    }

    /// <summary>A finite number with <paramref name="accept"/> true; <paramref name="what"/> says which numbers, e.g. "> 0".</summary>
    public static Option<double?> Where(this Option<double?> option, Func<double, bool> accept, string what)
    {
        option.Validators.Add(r => Check(r, option.Name, Value<double?>(r) is double v && (!double.IsFinite(v) || !accept(v)),
            $"a finite number {what}"));
        return option;
    }

    /// <summary>The converted value, or default when the token does not convert (System.CommandLine reports that itself).</summary>
    private static T? Value<T>(OptionResult result)
    {
        try
        {
            return result.GetValueOrDefault<T>();
        }
        catch (InvalidOperationException)
        {
            return default;
        }
    }

    private static string Range(int min, int max) => max == int.MaxValue ? $"an integer >= {min}" : $"an integer from {min} to {max}";

    private static void Check(OptionResult result, string name, bool bad, string expected)
    {
        if (!bad)
            return;
        var given = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} must be {expected}, got '{given}'"));
    }
}
