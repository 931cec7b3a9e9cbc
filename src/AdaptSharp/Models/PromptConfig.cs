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
        if (parts.Length != 2 || !int.TryParse(parts[1], out var length) || length <= 0)
            throw new ArgumentException($"bad prompt spec '{spec}': the length after ':' must be a positive integer");
        return new PromptConfig(mode, length, init);
    }

    public override string ToString() => HasPrompts ? $"{Mode.ToString().ToLowerInvariant()}:{Length}" : "none";
}
