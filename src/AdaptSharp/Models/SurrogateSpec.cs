namespace AdaptSharp.Models;

/// <summary>
/// One surrogate of a transfer attack as named on the command line: a backbone file, optionally with a prompt
/// file tuned on it ("FILE[:PROMPTS]"). <see cref="Name"/> labels its source ("transfer:NAME").
/// </summary>
public sealed record SurrogateSpec(string Backbone, string? Prompts)
{
    /// <summary>The backbone's file name without extension, plus "+" and the prompt file's when there is one.</summary>
    public string Name =>
        Path.GetFileNameWithoutExtension(Backbone) + (Prompts is null ? "" : "+" + Path.GetFileNameWithoutExtension(Prompts));

    /// <summary>
    /// Parses "FILE[:PROMPTS][,FILE[:PROMPTS]...]". Names must differ, since each becomes a source of its own.
    /// </summary>
    public static IReadOnlyList<SurrogateSpec> ParseList(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new ArgumentException("--surrogate needs FILE[:PROMPTS][,FILE...]");
        var specs = new List<SurrogateSpec>();
        foreach (var item in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (item.Length == 0)
                throw new ArgumentException($"--surrogate '{text}': empty entry (expected FILE[:PROMPTS][,FILE...])");
            var colon = item.IndexOf(':');
            var spec = colon < 0
                ? new SurrogateSpec(item, null)
                : new SurrogateSpec(item[..colon].Trim(), item[(colon + 1)..].Trim());
            if (spec.Backbone.Length == 0 || spec.Prompts is { Length: 0 })
                throw new ArgumentException($"--surrogate '{item}': expected FILE or FILE:PROMPTS");
            specs.Add(spec);
        }
        var duplicate = specs.GroupBy(s => s.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"--surrogate: two surrogates are both named '{duplicate.Key}' (rename one file)");
        return specs;
    }

    public override string ToString() => Prompts is null ? Backbone : $"{Backbone}:{Prompts}";
}
