using AdaptSharp.Models;

namespace AdaptSharp.Runtime;

/// <summary>
/// Floating-point operations of the ViT per image, counted from the architecture (one multiply-add = 2 FLOPs).
/// Counted: the patch-embedding convolution, per block the qkv, proj, fc1 and fc2 GEMMs and the two attention
/// products (QK^T and AV, 2*T^2*D each), and the head. Not counted: layer norms, softmax, GELU, residual adds
/// and the loss (elementwise, a few percent at these widths).
/// Backward passes:
/// <list type="bullet">
/// <item>input gradient only (an attack step): every GEMM with a frozen weight costs its forward again
/// (dX = dY W^T), the attention products twice (both operands are activations), the patch convolution once
/// (the gradient reaches the image); no weight gradients.</item>
/// <item>a training backward: the same activation gradients down to the first trainable tensor (prompts or
/// patch embedding: the whole stack; head only: the head), without the image gradient, plus one forward's
/// worth for each trainable weight's gradient (dW = dY^T X).</item>
/// </list>
/// </summary>
internal static class FlopCounter
{
    /// <summary>Sequence length inside the blocks: class token, patches and (when used) the prompts.</summary>
    public static int Tokens(VitConfig config, PromptConfig prompts, bool usePrompts = true) =>
        1 + config.NumPatches + (usePrompts && prompts.HasPrompts ? prompts.Length : 0);

    public static double PatchEmbedding(VitConfig c) =>
        2.0 * c.NumPatches * c.InChannels * c.PatchSize * c.PatchSize * c.Width;

    /// <summary>qkv (D x 3D), proj (D x D), fc1 (D x H) and fc2 (H x D) for <paramref name="tokens"/> tokens, one block.</summary>
    public static double BlockLinear(VitConfig c, int tokens) =>
        2.0 * tokens * c.Width * (4.0 * c.Width + 2.0 * c.MlpHidden);

    /// <summary>QK^T and AV, one block: 2 * 2 * T^2 * D.</summary>
    public static double BlockAttention(VitConfig c, int tokens) => 4.0 * tokens * (double)tokens * c.Width;

    public static double Head(VitConfig c) => 2.0 * c.Width * c.NumClasses;

    /// <summary>One forward pass, per image.</summary>
    public static double Forward(VitConfig c, PromptConfig prompts, bool usePrompts = true)
    {
        var t = Tokens(c, prompts, usePrompts);
        return PatchEmbedding(c) + c.Depth * (BlockLinear(c, t) + BlockAttention(c, t)) + Head(c);
    }

    /// <summary>Forward plus the input-gradient backward (no weight gradients), per image: one attack step.</summary>
    public static double AttackStep(VitConfig c, PromptConfig prompts, bool usePrompts = true)
    {
        var t = Tokens(c, prompts, usePrompts);
        var backward = PatchEmbedding(c) + c.Depth * (BlockLinear(c, t) + 2 * BlockAttention(c, t)) + Head(c);
        return Forward(c, prompts, usePrompts) + backward;
    }

    /// <summary>The backward of a training loss (through f_P) for the trainable set, per image.</summary>
    public static double TrainingBackward(VitConfig c, PromptConfig prompts, TrainableSet trainable)
    {
        var t = Tokens(c, prompts);
        var throughStack = (trainable.HasFlag(TrainableSet.Prompts) && prompts.HasPrompts)
            || trainable.HasFlag(TrainableSet.PatchEmbed) || trainable.HasFlag(TrainableSet.Backbone);
        var activations = Head(c) + (throughStack ? c.Depth * (BlockLinear(c, t) + 2 * BlockAttention(c, t)) : 0);
        var weights = 0.0;
        if (trainable.HasFlag(TrainableSet.Head) || trainable.HasFlag(TrainableSet.Backbone)) weights += Head(c);
        if (trainable.HasFlag(TrainableSet.PatchEmbed) || trainable.HasFlag(TrainableSet.Backbone)) weights += PatchEmbedding(c);
        if (trainable.HasFlag(TrainableSet.Backbone)) weights += c.Depth * BlockLinear(c, t);
        return activations + weights;
    }

    /// <summary>FLOPs of an n x n by n x n matrix product.</summary>
    public static double SquareMatmul(long n) => 2.0 * n * n * n;
}
