using System.Diagnostics;
using System.Globalization;
using AdaptSharp.Data;
using AdaptSharp.Models;
using AdaptSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Bench;

/// <summary>
/// Loader throughput (images/s) for Fashion-MNIST and a CIFAR-sized synthetic set, with and without
/// augmentation, against the model's own throughput in the same run at the same batch size: plain
/// forward, and one adversarial training step (PGD-K on the input, then forward+backward on the
/// trainables). The loader must deliver at least 10x the images/s an adversarial step consumes.
/// Options: --batch N (64), --pgd-steps K (10), --steps S (model steps timed, 3), --quick (10k images),
/// --threads T (torch intra-op threads, default one per core), --loader-only (skip the model; the ViT-B PGD step takes minutes on a CPU).
/// </summary>
public static class LoaderBenchmark
{
    private sealed record Setup(string Name, ImageDataset Data, DatasetSpec Spec, VitConfig Model, PromptConfig Prompts, TrainableSet Train);

    public static int Run(string[] args)
    {
        var batch = IntOption(args, "--batch", 64);
        var pgdSteps = IntOption(args, "--pgd-steps", 10);
        var modelSteps = IntOption(args, "--steps", 3);
        var quick = args.Contains("--quick");
        var loaderOnly = args.Contains("--loader-only");
        TorchRuntime.ConfigureThreads(IntOption(args, "--threads", Environment.ProcessorCount));
        Console.WriteLine($"loader benchmark: batch {batch}, PGD-{pgdSteps} adversarial step, {Environment.ProcessorCount} cores, torch threads {get_num_threads()}");
        Console.WriteLine();

        var setups = new List<Setup>();
        var fmnist = DatasetSpec.Parse("fashion-mnist");
        ImageDataset fmData;
        string fmName;
        if (Directory.Exists(fmnist.ResolvedPath))
        {
            fmData = DatasetLoader.Load(fmnist, DatasetSplit.Train, quick ? 10000 : null);
            fmName = "fashion-mnist (installed)";
        }
        else
        {
            fmData = Synthetic(quick ? 10000 : 60000, 1, 28, 10);
            fmName = "fashion-mnist-sized synthetic (package not installed)";
        }
        setups.Add(new Setup(fmName, fmData, fmnist, ModelPresets.Get(ModelPresets.SmallCpuPreset), PromptConfig.Parse("deep:10"),
            TrainableSets.Parse("prompts")));
        // The paper's CIFAR recipe: ViT-B/16 at 32x32, deep prompts of 25, head + patch embedding + prompts trained.
        setups.Add(new Setup("cifar-sized synthetic 50k x 3x32x32", Synthetic(quick ? 10000 : 50000, 3, 32, 10),
            DatasetSpec.Parse("cifar10:/synthetic"), ModelPresets.Get("vit-base-patch16", numClasses: 10, imageSize: 32),
            PromptConfig.Parse("deep:25"), TrainableSets.Parse("head,patch")));

        var ok = true;
        var rows = new List<string[]>();
        foreach (var s in setups)
        {
            using var data = s.Data;
            Console.WriteLine($"== {s.Name}: {data.Count} images {data.Channels}x{data.Height}x{data.Width}; model {s.Model.Name} ({s.Model.InChannels}x{s.Model.ImageSize}x{s.Model.ImageSize}, prompts {s.Prompts})");
            var toModel = TransformPipeline.ForModel(s.Model.ImageSize, s.Model.InChannels);
            var augmented = toModel.WithDefaultAugmentation(s.Spec, data.Height);

            var rssBefore = Rss();
            var plain = MeasureLoader(data, toModel, batch, prefetch: 0);
            var aug = MeasureLoader(data, augmented, batch, prefetch: 0);
            var augPrefetch = MeasureLoader(data, augmented, batch, prefetch: 2);
            var rssAfter = Rss();
            Console.WriteLine($"   loader, no augmentation       : {plain,12:N0} images/s");
            Console.WriteLine($"   loader, crop {augmented.CropPadding} + flip {(augmented.HorizontalFlip ? "on " : "off")}     : {aug,12:N0} images/s");
            Console.WriteLine($"   loader, augmented + prefetch 2 : {augPrefetch,12:N0} images/s (consumer idle)");
            Console.WriteLine($"   resident memory across the 3 x 2 epochs: {rssBefore / 1e6:N0} MB -> {rssAfter / 1e6:N0} MB");

            if (loaderOnly)
            {
                Console.WriteLine();
                continue;
            }
            var (forward, adversarial) = MeasureModel(s, batch, pgdSteps, modelSteps);
            Console.WriteLine($"   model forward (eval)          : {forward,12:N1} images/s");
            Console.WriteLine($"   adversarial step (PGD-{pgdSteps} + update): {adversarial,10:N1} images/s");
            var ratio = Math.Min(aug, plain) / adversarial;
            var pass = ratio >= 10;
            ok &= pass;
            Console.WriteLine($"   loader / adversarial step     : {ratio,12:N1}x  {(pass ? "OK (>= 10x)" : "FAIL (< 10x)")}");
            Console.WriteLine($"   loader / model forward        : {Math.Min(aug, plain) / forward,12:N1}x");
            Console.WriteLine();
        }
        return ok ? 0 : 1;
    }

    private static ImageDataset Synthetic(int count, int channels, int size, int classes)
    {
        var pixels = new byte[(long)count * channels * size * size];
        var rng = new DeterministicRandom(1);
        for (long i = 0; i < pixels.LongLength; i += 8)
        {
            var v = rng.NextUInt64();
            for (var k = 0; k < 8 && i + k < pixels.LongLength; k++) pixels[i + k] = (byte)(v >> (8 * k));
        }
        var labels = Enumerable.Range(0, count).Select(i => (long)(i % classes)).ToArray();
        return ImageDataset.FromPixels("synthetic", pixels, count, channels, size, size, labels,
            Enumerable.Range(0, classes).Select(c => $"class{c}").ToArray());
    }

    /// <summary>Images per second over one warm-up and two timed epochs; the consumer only disposes batches.</summary>
    private static double MeasureLoader(ImageDataset data, TransformPipeline transform, int batch, int prefetch)
    {
        var loader = new DataLoader(data, new DataLoaderOptions
        {
            BatchSize = batch,
            ShuffleSeed = 0,
            AugmentationSeed = 0,
            Transform = transform,
            Prefetch = prefetch,
            DropLast = true,
        });
        long images = 0;
        var watch = new Stopwatch();
        for (var epoch = 0; epoch < 3; epoch++)
        {
            if (epoch == 1) watch.Start();
            foreach (var b in loader.Epoch(epoch))
            {
                if (epoch >= 1) images += b.Count;
                b.Dispose();
            }
        }
        return images / watch.Elapsed.TotalSeconds;
    }

    private static (double Forward, double Adversarial) MeasureModel(Setup s, int batch, int pgdSteps, int steps)
    {
        using var model = new VisionTransformer(s.Model, s.Prompts, seed: 0);
        model.SetTrainable(s.Train);
        var trainables = model.TrainableParameters().Select(p => p.Parameter).ToArray();
        var loader = new DataLoader(s.Data, new DataLoaderOptions
        {
            BatchSize = batch,
            ShuffleSeed = 0,
            Prefetch = 0,
            Transform = TransformPipeline.ForModel(s.Model.ImageSize, s.Model.InChannels)
        });
        using var first = loader.Epoch(0).First();
        var (x, y) = first;

        double Time(int repeats, Action action)
        {
            action(); // warm-up
            var w = Stopwatch.StartNew();
            for (var i = 0; i < repeats; i++) action();
            return repeats * (double)batch / w.Elapsed.TotalSeconds;
        }

        model.eval();
        var forward = Time(Math.Max(steps, 5), () =>
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            model.forward(x);
        });

        // An L-inf PGD-K step on the input (eps 8/255, step 2/255) followed by one loss backward on the trainables:
        // what one ADAPT/PGD-AT training step costs. Written inline so the benchmark does not depend on Attacks/.
        const float eps = 8f / 255f, alpha = 2f / 255f;
        model.train();
        var adversarial = Time(steps, () =>
        {
            using var scope = NewDisposeScope();
            var adv = x.clone();
            for (var k = 0; k < pgdSteps; k++)
            {
                using var stepScope = NewDisposeScope();
                var input = adv.detach().requires_grad_(true);
                var loss = nn.functional.cross_entropy(model.forward(input), y);
                var grad = autograd.grad([loss], [input])[0];
                var next = (input.detach() + alpha * grad.sign()).clamp(x - eps, x + eps).clamp(0.0, 1.0);
                adv = next.MoveToOuterDisposeScope();
            }
            var trainLoss = nn.functional.cross_entropy(model.forward(adv.detach()), y);
            foreach (var p in trainables) p.grad?.zero_();
            trainLoss.backward();
        });
        return (forward, adversarial);
    }

    private static long Rss()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.WorkingSet64;
    }

    private static int IntOption(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
