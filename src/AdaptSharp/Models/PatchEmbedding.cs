using AdaptSharp.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AdaptSharp.Models;

/// <summary>
/// Non-overlapping patches projected by a strided convolution: (N,C,H,W) -> (N, H/p * W/p, D). The parameters are
/// a Conv2d's (timm's patch_embed.proj.*), but since stride = kernel the product is computed as one GEMM over the
/// rearranged patches, which is the same sum and about 2x faster than libtorch's strided convolution on CPU
/// (forward + input gradient; bench suite "ablation", group "patch").
/// The GEMM is also the only correct path everywhere: libtorch 2.10's conv2d backward returns a wrong input gradient
/// for 1-channel stride = kernel input on AMD Zen 4 with AVX-512 (docs/reliability.md, section 2). Never call
/// <see cref="Projection"/>'s forward; FastPathEquivalenceTests guards that.
/// </summary>
internal sealed class PatchEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d proj;
    private readonly int patchSize;
    private readonly int width;

    public PatchEmbedding(int inChannels, int width, int patchSize) : base(nameof(PatchEmbedding))
    {
        this.patchSize = patchSize;
        this.width = width;
        proj = nn.Conv2d(inChannels, width, kernel_size: patchSize, stride: patchSize);
        RegisterComponents();
    }

    public Conv2d Projection => proj;

    public override Tensor forward(Tensor x)
    {
        var (n, c, p) = (x.shape[0], x.shape[1], (long)patchSize);
        var (rows, cols) = (x.shape[2] / p, x.shape[3] / p);
        // (N, C, rows, p, cols, p) -> (N, rows, cols, C, p, p): each patch flattened in the kernel's (C, kh, kw) order.
        using var patches = x.reshape(n, c, rows, p, cols, p).permute(0, 2, 4, 1, 3, 5).reshape(n, rows * cols, c * p * p);
        using var kernel = proj.weight!.reshape(width, -1);
        return GemmRouting.Linear(patches, kernel, proj.bias);
    }
}
