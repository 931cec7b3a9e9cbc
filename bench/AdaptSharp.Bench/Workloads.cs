using AdaptSharp.Data;
using AdaptSharp.Models;
using AdaptSharp.Runtime;
using AdaptSharp.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AdaptSharp.Bench;

/// <summary>The timed workloads: a forward, an attack step (forward + input gradient) and a training step.</summary>
public static class Workloads
{
    /// <summary>A model shape at the token count the benchmark uses for it, with its batch size and inner PGD steps.</summary>
    public sealed record Shape(string Label, VitConfig Config, PromptConfig Prompts, int Batch, int PgdSteps)
    {
        public int Tokens => FlopCounter.Tokens(Config, Prompts);
    }

    /// <summary>The CPU preset with its recipe's deep:8 prompts; vit-tiny / vit-small at 224x224 (197 tokens) plus deep:25 prompts.</summary>
    public static IReadOnlyList<Shape> Standard(BenchContext context)
    {
        var quick = context.Quick;
        return
        [
            new Shape("cpu-preset", ModelPresets.Get(ModelPresets.SmallCpuPreset), PromptConfig.Parse("deep:8"), 128, 10),
            new Shape("vit-tiny", ModelPresets.Get("vit-tiny-patch16", numClasses: 10), PromptConfig.Parse("deep:25"), quick ? 4 : 16, 2),
            new Shape("vit-small", ModelPresets.Get("vit-small-patch16", numClasses: 10), PromptConfig.Parse("deep:25"), quick ? 4 : 8, 2),
        ];
    }

    public static VisionTransformer Model(Shape shape, Device device)
    {
        var model = new VisionTransformer(shape.Config, shape.Prompts, seed: 0);
        model.to(device);
        return model;
    }

    public static (Tensor Images, Tensor Labels) Batch(VitConfig config, int batch, Device device, long seed = 1)
    {
        var g = new Generator((ulong)seed);
        using var images = rand(new long[] { batch, config.InChannels, config.ImageSize, config.ImageSize }, generator: g);
        using var labels = randint(0, Math.Max(1, config.NumClasses), new long[] { batch }, generator: g);
        return (images.to(device).DetachFromDisposeScope(), labels.to(device).DetachFromDisposeScope());
    }

    public static Action Forward(VisionTransformer model, Tensor images) => () =>
    {
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        model.Forward(images, usePrompts: true);
    };

    /// <summary>
    /// One attack step as the attacks take it (Attack.LossAndGradient): CE on the view, gradient with respect to the
    /// input only, in its own dispose scope.
    /// </summary>
    public static Action AttackStep(VisionTransformer model, Tensor images, Tensor labels, bool usePrompts = true, bool throughView = false) => () =>
    {
        using var scope = NewDisposeScope();
        LogitsAndInputGradient(model, images, labels, usePrompts, throughView);
    };

    /// <summary>What <see cref="AttackStep"/> computes, returned (logits detached) in the caller's scope.</summary>
    /// <param name="throughView">Through the model's view as the attacks call it (<see cref="ModelView.LossAndInputGradient"/>), so that
    /// <see cref="AdaptiveThreads"/> picks the count and may take the step in lanes.</param>
    public static (Tensor Logits, Tensor InputGradient) LogitsAndInputGradient(VisionTransformer model, Tensor images, Tensor labels,
        bool usePrompts = true, bool throughView = false)
    {
        model.eval();
        if (throughView)
        {
            var (_, gradient, viewLogits) = (usePrompts ? model.Prompted : model.Unprompted).LossAndInputGradient(images,
                z => F.cross_entropy(z, labels, reduction: nn.Reduction.None));
            return (viewLogits, gradient);
        }
        using var grad = enable_grad();
        var input = images.detach().clone();
        input.requires_grad_(true);
        var logits = model.Forward(input, usePrompts);
        var loss = F.cross_entropy(logits, labels, reduction: nn.Reduction.None).sum();
        return (logits.detach(), autograd.grad(new[] { loss }, new[] { input })[0]);
    }

    /// <summary>A trainer (prompts + head + patch embedding trainable, SGD) whose TrainStep is timed on the given batch.</summary>
    public static Trainer Trainer(VisionTransformer model, ObjectiveKind kind, int pgdSteps, Tensor images, Tensor labels)
    {
        var c = model.Config;
        var attack = new InnerAttackOptions(0.1, 0.025, pgdSteps);
        var objective = new TrainingObjective(kind, attack);
        var n = (int)images.shape[0];
        var pixels = new byte[(long)n * c.InChannels * c.ImageSize * c.ImageSize];
        new Random(0).NextBytes(pixels);
        var dataset = ImageDataset.FromPixels("bench", pixels, n, c.InChannels, c.ImageSize, c.ImageSize,
            Enumerable.Range(0, n).Select(i => (long)(i % Math.Max(1, c.NumClasses))).ToArray(),
            Enumerable.Range(0, Math.Max(1, c.NumClasses)).Select(i => $"c{i}").ToArray());
        var loader = new DataLoader(dataset, new DataLoaderOptions
        {
            BatchSize = n,
            ShuffleSeed = 0,
            Prefetch = 0,
            Transform = TransformPipeline.ForModel(c.ImageSize, c.InChannels),
        });
        return new Trainer(model, objective, loader, new TrainerOptions { Epochs = 1 });
    }

    public static Action TrainStep(Trainer trainer, Tensor images, Tensor labels) => () =>
    {
        trainer.Model.train();
        trainer.TrainStep(images, labels);
    };

    public static readonly ObjectiveKind[] AllObjectives =
    [
        ObjectiveKind.Natural, ObjectiveKind.Nfgsm, ObjectiveKind.At, ObjectiveKind.Trades, ObjectiveKind.Mart,
        ObjectiveKind.AdaptCe, ObjectiveKind.AdaptKl,
    ];
}
