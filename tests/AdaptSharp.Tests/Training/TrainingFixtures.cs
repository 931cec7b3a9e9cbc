using AdaptSharp.Attacks;
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
        Name = "train-tiny",
        ImageSize = 8,
        PatchSize = 4,
        InChannels = 1,
        Width = 16,
        Depth = 2,
        Heads = 2,
        MlpRatio = 2,
        NumClasses = classes,
        Mean = [0.5f],
        Std = [0.25f],
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

    public static TrainingObjective Options(ObjectiveKind kind, double lambda = 2.5, int steps = 3, AttackSource? source = null) =>
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

/// <summary>A synthetic 4-class task on 8x8 grey images: class c lights up quadrant c, plus pixel noise.</summary>
internal static class SyntheticQuadrants
{
    /// <summary>
    /// With <paramref name="shortcut"/> &gt; 0 every image also carries a faint, perfectly predictive mark (two pixels of the
    /// top row, +shortcut levels) while a quarter of the images lack the bright quadrant: natural training then leans
    /// on the mark, which an attacker with eps above its amplitude can forge, and only a robust objective has to
    /// use the quadrant.
    /// </summary>
    public static AdaptSharp.Data.ImageDataset Create(int count, long seed, int contrast = 150, int noise = 40, int shortcut = 0)
    {
        var rng = new Random((int)seed);
        var pixels = new byte[count * 64];
        var labels = new long[count];
        for (var i = 0; i < count; i++)
        {
            var c = i % 4;
            labels[i] = c;
            var hidden = shortcut > 0 && i % 16 >= 12;
            for (var r = 0; r < 8; r++)
                for (var col = 0; col < 8; col++)
                {
                    var quadrant = (r / 4) * 2 + col / 4;
                    var mark = shortcut > 0 && r == 0 && col / 2 == c ? shortcut : 0;
                    var v = 50 + (quadrant == c && !hidden ? contrast : 0) + mark + rng.Next(-noise, noise + 1);
                    pixels[i * 64 + r * 8 + col] = (byte)Math.Clamp(v, 0, 255);
                }
        }
        return AdaptSharp.Data.ImageDataset.FromPixels("quadrants", pixels, count, 1, 8, 8, labels, ["q0", "q1", "q2", "q3"]);
    }

    public static AdaptSharp.Data.DataLoader Loader(AdaptSharp.Data.ImageDataset dataset, int batchSize = 32, long seed = 3, bool augment = false) =>
        new(dataset, new AdaptSharp.Data.DataLoaderOptions
        {
            BatchSize = batchSize,
            ShuffleSeed = seed,
            AugmentationSeed = seed + 1,
            Prefetch = 0,
            Transform = new AdaptSharp.Data.TransformPipeline(8, 1, augment ? 1 : 0, augment),
        });

    public static (Tensor Images, Tensor Labels) Tensors(AdaptSharp.Data.ImageDataset dataset) =>
        dataset.ToTensors(new AdaptSharp.Data.TransformPipeline(8, 1));
}
