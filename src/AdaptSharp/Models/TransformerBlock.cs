using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AdaptSharp.Models;

/// <summary>Pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x)).</summary>
internal sealed class TransformerBlock : nn.Module<Tensor, Tensor>
{
    public const double LayerNormEps = 1e-6;

    private readonly LayerNorm norm1;
    private readonly SelfAttention attn;
    private readonly LayerNorm norm2;
    private readonly FeedForward mlp;

    public TransformerBlock(int width, int heads, int mlpHidden) : base(nameof(TransformerBlock))
    {
        norm1 = nn.LayerNorm(width, eps: LayerNormEps);
        attn = new SelfAttention(width, heads);
        norm2 = nn.LayerNorm(width, eps: LayerNormEps);
        mlp = new FeedForward(width, mlpHidden);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var n1 = norm1.forward(x);
        using var a = attn.forward(n1);
        var h = x + a;
        using var n2 = norm2.forward(h);
        using var m = mlp.forward(n2);
        var y = h + m;
        h.Dispose();
        return y;
    }
}
