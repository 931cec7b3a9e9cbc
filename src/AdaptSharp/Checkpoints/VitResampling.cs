using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace AdaptSharp.Checkpoints;

/// <summary>
/// Adapts pretrained ViT weights to another input or patch size, the way timm does when it loads a checkpoint.
/// </summary>
internal static class VitResampling
{
    /// <summary>
    /// Resizes the grid part of a position embedding [1, prefix + g0*g0, D] to newGrid x newGrid; the prefix
    /// (class token) rows are kept as they are. Bicubic, align_corners=false and antialiased, as timm's
    /// resample_abs_pos_embed (the antialias filter matters when shrinking, e.g. 14x14 to 2x2 for 32-pixel input).
    /// </summary>
    public static Tensor PositionEmbedding(Tensor posEmbed, int newGrid, int prefixTokens = 1)
    {
        if (posEmbed.dim() != 3 || posEmbed.shape[0] != 1)
            throw new ArgumentException($"position embedding must be [1, tokens, D], got [{string.Join(",", posEmbed.shape)}]");
        var oldGrid = GridSide(posEmbed.shape[1] - prefixTokens)
            ?? throw new ArgumentException($"position embedding has {posEmbed.shape[1] - prefixTokens} grid positions, not a square grid");
        if (newGrid <= 0)
            throw new ArgumentOutOfRangeException(nameof(newGrid));
        using var scope = NewDisposeScope();
        var width = posEmbed.shape[2];
        var original = posEmbed.dtype;
        var source = posEmbed.detach().to_type(ScalarType.Float32);
        var prefix = source.narrow(1, 0, prefixTokens);
        var grid = source.narrow(1, prefixTokens, oldGrid * oldGrid)
            .reshape(1, oldGrid, oldGrid, width).permute(0, 3, 1, 2);
        var resized = oldGrid == newGrid
            ? grid
            : interpolate(grid, size: [newGrid, newGrid], mode: InterpolationMode.Bicubic, align_corners: false, antialias: true);
        var tokens = resized.permute(0, 2, 3, 1).reshape(1, (long)newGrid * newGrid, width);
        return cat([prefix, tokens], 1).to_type(original).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Resizes a patch-embedding kernel [D, C, p0, p0] to [D, C, p, p] by the pseudo-inverse method of FlexiViT,
    /// which timm's resample_patch_embed uses: with R the (bicubic, antialiased) resize of a p0 x p0 patch to p x p,
    /// the new kernel w' solves R^T w' = w in the least-squares / minimum-norm sense, so that
    /// &lt;R x, w'&gt; = &lt;x, w&gt; for every patch x (exactly when enlarging, as closely as possible when shrinking).
    /// A plain resize of the kernel would instead change the scale of the embedding.
    /// </summary>
    public static Tensor PatchKernel(Tensor kernel, int newPatch)
    {
        if (kernel.dim() != 4 || kernel.shape[2] != kernel.shape[3])
            throw new ArgumentException($"patch kernel must be [D, C, p, p], got [{string.Join(",", kernel.shape)}]");
        if (newPatch <= 0)
            throw new ArgumentOutOfRangeException(nameof(newPatch));
        var oldPatch = (int)kernel.shape[2];
        if (oldPatch == newPatch)
            return kernel.detach().clone();
        using var scope = NewDisposeScope();
        var resize = ResizeMatrix(oldPatch, newPatch); // [p*p, p0*p0], column j = resize of basis patch j
        var solve = linalg.pinv(resize.t()); // [p*p, p0*p0]
        var d = kernel.shape[0];
        var c = kernel.shape[1];
        var flat = kernel.detach().to_type(ScalarType.Float64).reshape(d * c, (long)oldPatch * oldPatch);
        var resampled = flat.matmul(solve.t()).reshape(d, c, newPatch, newPatch);
        return resampled.to_type(kernel.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>The linear map that resizes a p0 x p0 patch to p x p, as a [p*p, p0*p0] matrix.</summary>
    internal static Tensor ResizeMatrix(int oldPatch, int newPatch)
    {
        using var scope = NewDisposeScope();
        var n = oldPatch * oldPatch;
        var basis = eye(n, dtype: ScalarType.Float32).reshape(n, 1, oldPatch, oldPatch);
        var resized = interpolate(basis, size: [newPatch, newPatch], mode: InterpolationMode.Bicubic,
            align_corners: false, antialias: true);
        return resized.reshape(n, (long)newPatch * newPatch).t().to_type(ScalarType.Float64).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>The side of a square grid of <paramref name="positions"/> cells, or null if it is not a square.</summary>
    public static int? GridSide(long positions)
    {
        if (positions <= 0)
            return null;
        var side = (long)Math.Round(Math.Sqrt(positions));
        return side * side == positions ? (int)side : null;
    }
}
