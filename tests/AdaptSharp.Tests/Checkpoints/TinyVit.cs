using AdaptSharp.Models;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Checkpoints;

/// <summary>Tiny models and inputs for checkpoint tests.</summary>
internal static class TinyVit
{
    public static VitConfig Config(int classes = 5, int imageSize = 8, int patchSize = 4, int channels = 3, int depth = 2) => new()
    {
        Name = "ckpt-tiny",
        ImageSize = imageSize,
        PatchSize = patchSize,
        InChannels = channels,
        Width = 16,
        Depth = depth,
        Heads = 2,
        MlpRatio = 2,
        NumClasses = classes,
        Mean = Enumerable.Repeat(0.5f, channels).ToArray(),
        Std = Enumerable.Repeat(0.25f, channels).ToArray(),
    };

    public static Tensor Images(VitConfig config, int n = 4, long seed = 11) =>
        rand(new long[] { n, config.InChannels, config.ImageSize, config.ImageSize }, generator: new Generator((ulong)seed));

    public static bool SameValues(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.allclose(b, rtol: 0, atol: 0);

    /// <summary>Moves every parameter a little, so loaded values cannot come from a same-seed initialisation.</summary>
    public static void Perturb(nn.Module model, long seed)
    {
        using var _ = no_grad();
        var gen = new Generator((ulong)seed);
        foreach (var (_, p) in model.named_parameters())
            p.add_(randn(p.shape, generator: gen).mul_(0.05));
    }
}
