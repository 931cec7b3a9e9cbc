namespace AdaptSharp.Models;

public static class TrainableSets
{
    /// <summary>
    /// Parses the CLI form: "head,patch" (prompts plus the named groups), "prompts" (prompts only),
    /// "full" (all parameters, prompts included if any), "linear" (head only, no prompts).
    /// </summary>
    public static TrainableSet Parse(string spec)
    {
        var s = spec.Trim().ToLowerInvariant();
        if (s == "full")
            return TrainableSet.Backbone | TrainableSet.Head | TrainableSet.PatchEmbed | TrainableSet.Prompts;
        if (s == "linear")
            return TrainableSet.Head;
        var set = TrainableSet.Prompts;
        foreach (var part in s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            set |= part switch
            {
                "head" => TrainableSet.Head,
                "patch" or "patch_embed" or "patch-embed" => TrainableSet.PatchEmbed,
                "prompts" or "prompt" => TrainableSet.Prompts,
                _ => throw new ArgumentException($"bad trainable set '{spec}': expected head,patch | prompts | full | linear"),
            };
        }
        return set;
    }

    public static string Format(TrainableSet set)
    {
        if (set.HasFlag(TrainableSet.Backbone)) return "full";
        if (set == TrainableSet.Head) return "linear";
        var parts = new List<string>();
        if (set.HasFlag(TrainableSet.Head)) parts.Add("head");
        if (set.HasFlag(TrainableSet.PatchEmbed)) parts.Add("patch");
        return parts.Count == 0 ? "prompts" : string.Join(',', parts);
    }
}
