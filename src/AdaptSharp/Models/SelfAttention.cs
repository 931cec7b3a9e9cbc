using AdaptSharp.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AdaptSharp.Models;

/// <summary>
/// Multi-head self-attention with a fused qkv projection (rows q, k, v as in timm). Short fp32 sequences on the CPU (the
/// CPU presets' 17-25 tokens) run <see cref="ShortSequenceAttentionFunction"/>, one vectorised pass per head from the
/// packed projection to the merged heads; other short ones (float64, or a CPU without FMA) use softmax(QK^T / sqrt(d)) V
/// directly: at a few dozen tokens libtorch's fused CPU kernel is about 2x slower (forward + input gradient, bench suite
/// "ablation", group "attention"); longer ones use scaled_dot_product_attention, which is as fast or faster there and
/// picks flash/memory-efficient kernels on CUDA, or, when the model's GEMMs are routed to a library
/// (<see cref="GemmRouting"/>), the same products on that library straight from the packed projection
/// (<see cref="GemmAttentionFunction"/>).
/// </summary>
internal sealed class SelfAttention : nn.Module<Tensor, Tensor>
{
    private readonly Linear qkv;
    private readonly Linear proj;
    private readonly int heads;

    /// <summary>Sequences up to this length use the explicit softmax(QK^T)V on CPU.</summary>
    public const int ExplicitAttentionMaxTokens = 64;

    public SelfAttention(int width, int heads) : base(nameof(SelfAttention))
    {
        this.heads = heads;
        qkv = nn.Linear(width, 3 * width, hasBias: true);
        proj = nn.Linear(width, width);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var (b, n, d) = (x.shape[0], x.shape[1], x.shape[2]);
        using var projected = GemmRouting.Linear(x, qkv.weight!, qkv.bias);
        // The functions that go from the packed projection straight to the merged heads, where one takes this input.
        Func<Tensor, Tensor>? fromPacked = ShortSequenceAttentionFunction.Takes(projected, heads)
            ? packedInput => ShortSequenceAttentionFunction.Apply(packedInput, heads)
            : n > ExplicitAttentionMaxTokens && GemmRouting.AttentionLibrary(projected, heads) is { } library
                ? packedInput => GemmAttentionFunction.Apply(library, packedInput, heads)
                : null;
        if (fromPacked is not null)
        {
            using var contiguous = projected.contiguous();
            using var mergedHeads = fromPacked(contiguous);
            return GemmRouting.Linear(mergedHeads, proj.weight!, proj.bias);
        }
        using var packed = projected.reshape(b, n, 3, heads, d / heads).permute(2, 0, 3, 1, 4);
        // unbind, not packed[i]: its backward stacks the three gradients once, where each select's backward would
        // write its gradient into a zero-filled copy of the whole packed tensor and sum the three (same values).
        var parts = packed.unbind(0);
        using var q = parts[0];
        using var k = parts[1];
        using var v = parts[2];
        using var attended = n <= ExplicitAttentionMaxTokens && x.device_type == DeviceType.CPU
            ? ExplicitAttention(q, k, v)
            : nn.functional.scaled_dot_product_attention(q, k, v);
        using var merged = attended.transpose(1, 2).reshape(b, n, d);
        return GemmRouting.Linear(merged, proj.weight!, proj.bias);
    }

    private static Tensor ExplicitAttention(Tensor q, Tensor k, Tensor v)
    {
        using var scope = NewDisposeScope();
        var scores = matmul(q, k.transpose(-2, -1)).mul_(1.0 / Math.Sqrt(q.shape[^1]));
        return matmul(scores.softmax(-1), v).MoveToOuterDisposeScope();
    }
}
