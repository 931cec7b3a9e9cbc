using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AdaptSharp.Models;

/// <summary>Non-overlapping patches projected by a strided convolution: (N,C,H,W) -> (N, H/p * W/p, D).</summary>
public sealed class PatchEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d proj;

    public PatchEmbedding(int inChannels, int width, int patchSize) : base(nameof(PatchEmbedding))
    {
        proj = nn.Conv2d(inChannels, width, kernel_size: patchSize, stride: patchSize);
        RegisterComponents();
    }

    public Conv2d Projection => proj;

    public override Tensor forward(Tensor x)
    {
        using var y = proj.forward(x);
        return y.flatten(2).transpose(1, 2);
    }
}
