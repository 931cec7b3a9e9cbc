namespace AdaptSharp.Models;

/// <summary>Prompt layout: mode and tokens per set. Parsed from "deep:25", "shallow:10" or "none".</summary>
public sealed record PromptConfig(PromptMode Mode, int Length, PromptInit Init = PromptInit.Vpt)
{
    public static PromptConfig None { get; } = new(PromptMode.None, 0);

    public bool HasPrompts => Mode != PromptMode.None && Length > 0;

    /// <summary>Number of prompt sets: one per block for deep prompts, one for shallow.</summary>
    public int Sets(int depth) => Mode switch
    {
        PromptMode.Deep => depth,
        PromptMode.Shallow => 1,
        _ => 0,
    };

    /// <summary>
    /// True when <paramref name="spec"/> is spelled as a layout ("none", "0", "deep:...", "p2t:...", "shallow:...");
    /// anything else names a prompt file. Decided by spelling only, so a file called "none" or "deep:4" in the working
    /// folder changes nothing (name such a file "./deep:4").
    /// </summary>
    public static bool IsLayout(string spec)
    {
        var s = spec.Trim().ToLowerInvariant();
        if (s is "none" or "0" or "")
            return true;
        var mode = s.Split(':')[0];
        return mode is "deep" or "p2t" or "shallow";
    }

    /// <summary>
    /// The most prompt tokens per set a model takes: max(256, 4 x (patches + 1)). Beyond it a prompt layout is almost
    /// surely a typo, and attention cost grows with the square of the token count (deep:100000 would run for hours).
    /// </summary>
    public static int MaxLength(VitConfig config) => Math.Max(256, 4 * (config.NumPatches + 1));

    /// <summary>Throws a one-line error when the layout is longer than <see cref="MaxLength"/> for the model.</summary>
    public void CheckFits(VitConfig config)
    {
        if (HasPrompts && Length > MaxLength(config))
            throw new ArgumentException(
                $"prompt layout {this} has {Length} tokens per set; model '{config.Name}' ({config.NumPatches} patches) takes at most {MaxLength(config)} (max(256, 4 x (patches + 1)))");
    }

    public static PromptConfig Parse(string spec, PromptInit init = PromptInit.Vpt)
    {
        var s = spec.Trim().ToLowerInvariant();
        if (s is "none" or "0" or "")
            return None;
        var parts = s.Split(':');
        var mode = parts[0] switch
        {
            "deep" or "p2t" => PromptMode.Deep,
            "shallow" => PromptMode.Shallow,
            _ => throw new ArgumentException($"bad prompt spec '{spec}': expected deep:T, shallow:T or none"),
        };
        if (parts.Length != 2 || !int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length) || length <= 0)
            throw new ArgumentException($"bad prompt spec '{spec}': the length after ':' must be a positive integer");
        return new PromptConfig(mode, length, init);
    }

    public override string ToString() => HasPrompts ? $"{Mode.ToString().ToLowerInvariant()}:{Length}" : "none";
}
