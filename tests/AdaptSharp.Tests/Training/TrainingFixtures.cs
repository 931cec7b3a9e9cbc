using AdaptSharp.Models;
using AdaptSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Training;

/// <summary>Tiny models and batches shared by the training tests.</summary>
internal static class TrainingFixtures
{
    public static VitConfig TinyConfig(int classes = 4) => new()
    {
        Name = "train-tiny", ImageSize = 8, PatchSize = 4, InChannels = 1, Width = 16, Depth = 2, Heads = 2,
        MlpRatio = 2, NumClasses = classes, Mean = [0.5f], Std = [0.25f],
    };

    public static VisionTransformer TinyModel(string prompts = "deep:3", long seed = 11, int classes = 4) =>
        new(TinyConfig(classes), PromptConfig.Parse(prompts), seed);

    public static (Tensor Images, Tensor Labels) Batch(int n = 6, long seed = 5, int classes = 4)
    {
        var g = new Generator((ulong)seed);
        var images = rand(new long[] { n, 1, 8, 8 }, generator: g).mul_(0.8).add_(0.1);
        var labels = randint(0, classes, new long[] { n }, generator: g);
        return (images, labels);
    }

    public static ObjectiveOptions Options(ObjectiveKind kind, double lambda = 2.5, int steps = 3, AttackSource? source = null) =>
        new(kind, new InnerAttackOptions(0.1, 0.03, steps), lambda, source);

    public static double[] Floats(Tensor t) => t.detach().to(ScalarType.Float64).contiguous().data<double>().ToArray();

    /// <summary>Replaces the prompts by fresh random values (the backbone, patch embedding and head unchanged).</summary>
    public static void ChangePrompts(VisionTransformer model, long seed)
    {
        using var _ = no_grad();
        var g = new Generator((ulong)seed);
        model.PromptTokens!.copy_(randn(model.PromptTokens.shape, generator: g));
    }
}
