namespace AdaptSharp.Models;

/// <summary>Which parameter groups are trained; everything else is frozen (requires_grad = false).</summary>
[Flags]
public enum TrainableSet
{
    None = 0,
    Prompts = 1,
    Head = 2,
    PatchEmbed = 4,
    /// <summary>Every backbone parameter (full fine-tuning).</summary>
    Backbone = 8,
}
