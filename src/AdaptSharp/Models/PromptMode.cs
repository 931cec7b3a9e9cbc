namespace AdaptSharp.Models;

public enum PromptMode
{
    None,
    /// <summary>VPT-shallow: one set of tokens inserted before block 0.</summary>
    Shallow,
    /// <summary>VPT-deep (the paper's P2T): a set per block, replacing the previous block's prompt outputs.</summary>
    Deep,
}
