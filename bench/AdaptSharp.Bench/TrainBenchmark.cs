using AdaptSharp.Attacks;
using System.Diagnostics;
using System.Globalization;
using AdaptSharp.Data;
using AdaptSharp.Models;
using AdaptSharp.Runtime;
using AdaptSharp.Training;
using TorchSharp;
using static TorchSharp.torch;
using DataLoader = AdaptSharp.Data.DataLoader;

namespace AdaptSharp.Bench;

/// <summary>
/// Training-step throughput (images/s) of every objective on the CPU preset and on ViT-Tiny/ViT-Small shapes
/// (deep prompts, head + patch embedding + prompts trained, PGD-K inner attack), and the achieved FLOP/s of the
/// adapt-ce step against the fp32 GEMM peak measured in the same run. FLOPs are counted from the architecture
/// (see <see cref="StepFlops"/>). Options: --batch N (32), --steps S (timed steps per objective, 3), --pgd-steps K (10),
/// --img-size S (ViT-Tiny/Small input, default 32 as in the paper's CIFAR recipe), --models a,b (subset), --threads N, --quick.
/// </summary>
public static class TrainBenchmark
{
    private sealed record Shape(string Name, VitConfig Config, string Prompts, InnerAttackOptions Attack);

    public static int Run(string[] args)
    {
        var batch = IntOption(args, "--batch", 32);
        var steps = IntOption(args, "--steps", 3);
        var pgdSteps = IntOption(args, "--pgd-steps", 10);
        var imageSize = IntOption(args, "--img-size", 32);
        var quick = args.Contains("--quick");
        if (quick) steps = Math.Min(steps, 2);
        var only = StringOption(args, "--models")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        TorchRuntime.ConfigureThreads(IntOption(args, "--threads", 0) is > 0 and var threads ? threads : null);
        manual_seed(0);

        var peak = GemmPeak(quick ? 1024 : 2048);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"train benchmark: batch {batch}, {steps} timed steps per objective, inner PGD-{pgdSteps}, {Environment.ProcessorCount} cores, torch threads {get_num_threads()}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fp32 GEMM peak (torch.mm, measured now): {peak / 1e9:0.0} GFLOP/s"));

        var shapes = new List<Shape>
        {
            new(ModelPresets.CpuPreset, ModelPresets.Get(ModelPresets.CpuPreset), "deep:8", InnerAttackOptions.FashionMnist with { Steps = pgdSteps }),
            new("vit-tiny-patch16", ModelPresets.Get("vit-tiny-patch16", 10, imageSize), "deep:25", InnerAttackOptions.Cifar with { Steps = pgdSteps }),
            new("vit-small-patch16", ModelPresets.Get("vit-small-patch16", 10, imageSize), "deep:25", InnerAttackOptions.Cifar with { Steps = pgdSteps }),
        };
        foreach (var shape in shapes.Where(s => only is null || only.Contains(s.Name, StringComparer.OrdinalIgnoreCase)))
        {
            var c = shape.Config;
            Console.WriteLine();
            Console.WriteLine($"{shape.Name}: {c.InChannels}x{c.ImageSize}x{c.ImageSize}, patch {c.PatchSize}, width {c.Width}, depth {c.Depth}, prompts {shape.Prompts}, trainable head,patch");
            Console.WriteLine($"{"objective",-10} {"img/s",9} {"ms/step",9} {"GFLOP/step",11} {"GFLOP/s",9} {"% peak",7}");
            foreach (var kind in Enum.GetValues<ObjectiveKind>())
            {
                var (imagesPerSecond, secondsPerStep) = Measure(shape, kind, batch, steps);
                var flops = StepFlops(c, PromptConfig.Parse(shape.Prompts), kind, shape.Attack.Steps) * batch;
                var achieved = flops / secondsPerStep;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{ObjectiveOptions.FormatKind(kind),-10} {imagesPerSecond,9:0.0} {secondsPerStep * 1000,9:0.0} {flops / 1e9,11:0.00} {achieved / 1e9,9:0.0} {100 * achieved / peak,6:0.0}%"));
            }
        }
        return 0;
    }

    private static (double ImagesPerSecond, double SecondsPerStep) Measure(Shape shape, ObjectiveKind kind, int batch, int steps)
    {
        using var scope = NewDisposeScope();
        var c = shape.Config;
        using var model = new VisionTransformer(c, PromptConfig.Parse(shape.Prompts), seed: 1);
        var gen = new Generator(3);
        var images = rand(new long[] { batch, c.InChannels, c.ImageSize, c.ImageSize }, generator: gen);
        var labels = randint(0, c.NumClasses, new long[] { batch }, generator: gen);
        // The trainer needs a loader for its step count; the timed steps use the fixed batch above.
        using var data = ImageDataset.FromPixels("bench", new byte[batch * c.InChannels * c.ImageSize * c.ImageSize], batch,
            c.InChannels, c.ImageSize, c.ImageSize, new long[batch], Enumerable.Range(0, c.NumClasses).Select(i => i.ToString()).ToArray());
        var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = batch, Prefetch = 0 });
        var objective = new ObjectiveOptions(kind, shape.Attack).Create();
        using var trainer = new Trainer(model, objective, loader, new TrainerOptions
        {
            Epochs = steps + 1, Trainable = TrainableSet.Prompts | TrainableSet.Head | TrainableSet.PatchEmbed,
            Schedule = LearningRateSchedule.Constant(0.01),
        });
        trainer.TrainStep(images, labels); // warm-up
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < steps; i++)
            trainer.TrainStep(images, labels);
        var seconds = clock.Elapsed.TotalSeconds / steps;
        return (batch / seconds, seconds);
    }

    /// <summary>
    /// Approximate FLOPs of one training step per image (multiply-add = 2 FLOPs). Forward F = linear layers
    /// (patch embedding, qkv, proj, MLP, head) + attention matmuls (QK^T and AV). A backward pass to the input
    /// through frozen weights costs the linear FLOPs once (input gradients only) and the attention matmuls twice
    /// (both operands are activations). Inner attack: K x (forward + input backward) on f_0 or f_P (N-FGSM: K = 1);
    /// outer loss: forward on the clean and/or adversarial batch and backward with input gradients down to the
    /// patch embedding plus weight gradients of the patch embedding and head. Prompts add tokens (T per block).
    /// </summary>
    public static double StepFlops(VitConfig c, PromptConfig prompts, ObjectiveKind kind, int innerSteps)
    {
        double d = c.Width, patches = c.NumPatches, hidden = c.MlpHidden, t = prompts.HasPrompts ? prompts.Length : 0;
        double patchEmbed = 2 * patches * c.InChannels * c.PatchSize * c.PatchSize * d;
        double head = 2 * d * c.NumClasses;
        (double Linear, double Attention) Pass(double tokens)
        {
            var linear = c.Depth * (2 * tokens * d * 3 * d + 2 * tokens * d * d + 2 * 2 * tokens * d * hidden) + patchEmbed + head;
            var attention = c.Depth * 2 * (2 * tokens * tokens * d);
            return (linear, attention);
        }
        var prompted = Pass(1 + patches + t);
        var plain = Pass(1 + patches);
        double Forward((double Linear, double Attention) p) => p.Linear + p.Attention;
        double InputBackward((double Linear, double Attention) p) => p.Linear - patchEmbed + 2 * p.Attention;

        var source = ObjectiveOptions.DefaultSource(kind) == AttackSource.Adaptive ? prompted : plain;
        var inner = kind switch
        {
            ObjectiveKind.Natural => 0,
            ObjectiveKind.Nfgsm => Forward(source) + InputBackward(source),
            ObjectiveKind.Trades => Forward(source) + innerSteps * (Forward(source) + InputBackward(source)), // + clean logits
            _ => innerSteps * (Forward(source) + InputBackward(source)),
        };
        var outerPasses = kind is ObjectiveKind.Natural or ObjectiveKind.At or ObjectiveKind.Nfgsm ? 1 : 2;
        var outer = outerPasses * (Forward(prompted) + InputBackward(prompted) + patchEmbed + head);
        return inner + outer;
    }

    private static double GemmPeak(int n)
    {
        using var scope = NewDisposeScope();
        var a = randn(n, n);
        var b = randn(n, n);
        using (mm(a, b)) { }
        var best = double.MaxValue;
        for (var i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            using (var r = mm(a, b)) { }
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return 2.0 * n * n * n / best;
    }

    private static int IntOption(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var v) ? v : fallback;
    }

    private static string? StringOption(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
