using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>Small shape helpers shared by the attacks.</summary>
internal static class TensorOps
{
    /// <summary>Views a per-sample vector (N) as (N,1,1,...) to broadcast against <paramref name="like"/>.</summary>
    public static Tensor PerSample(Tensor values, Tensor like) => values.reshape([-1, .. Enumerable.Repeat(1L, (int)like.dim() - 1)]);

    /// <summary>Per-sample L2 norms (N).</summary>
    public static Tensor L2Norms(Tensor x) => x.flatten(1).square().sum(1).sqrt();

    /// <summary>Per-sample L-inf norms (N).</summary>
    public static Tensor LInfNorms(Tensor x) => x.flatten(1).abs().amax(1);

    /// <summary>Per-sample norms (N) under <paramref name="norm"/>.</summary>
    public static Tensor Norms(Tensor x, AttackNorm norm) => norm == AttackNorm.LInf ? LInfNorms(x) : L2Norms(x);

    /// <summary>x / ||x||_2 per sample (zero stays zero).</summary>
    public static Tensor NormalizeL2(Tensor x) => x / PerSample(L2Norms(x) + 1e-12, x);

    /// <summary>Picks rows of <paramref name="a"/> where <paramref name="mask"/> (N, bool) is true, else rows of <paramref name="b"/>.</summary>
    public static Tensor WhereRows(Tensor mask, Tensor a, Tensor b) => where(PerSample(mask, a), a, b);

    /// <summary>Steepest-ascent direction for the norm: sign for L-inf, normalised gradient for L2.</summary>
    public static Tensor AscentDirection(Tensor grad, AttackNorm norm) =>
        norm == AttackNorm.LInf ? grad.sign() : NormalizeL2(grad);

    /// <summary>Indices (long) where a bool vector is true.</summary>
    public static Tensor Indices(Tensor mask) => mask.nonzero().flatten();

    /// <summary>Copies a bool vector to the host.</summary>
    public static bool[] ToBools(Tensor mask) => mask.to(CPU).to_type(ScalarType.Bool).data<bool>().ToArray();

    /// <summary>Replaces <paramref name="state"/> by <paramref name="next"/> (moved to the enclosing scope) and frees the old one.</summary>
    public static void Swap(ref Tensor state, Tensor next)
    {
        next.MoveToOuterDisposeScope();
        if (!ReferenceEquals(state, next))
            state.Dispose();
        state = next;
    }
}
