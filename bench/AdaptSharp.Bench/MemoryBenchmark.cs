using System.Diagnostics;
using AdaptSharp.Data;
using AdaptSharp.Models;
using AdaptSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Bench;

/// <summary>
/// Suite <c>memory</c>: resident memory over 1,000 adapt-ce training steps of the CPU preset through Trainer.Run and
/// the data loader (prefetch on), sampled every 50 steps after a GC. Target: less than 2% growth from step 100
/// (after warm-up) to the end. Options: --steps N (1000), --batch N (16), --pgd-steps K (3).
/// </summary>
public static class MemoryBenchmark
{
    public static int Run(string[] args) => Run(new BenchContext(args), "memory");

    public static int Run(BenchContext context, string suite)
    {
        var report = new BenchReport(suite, context, $"dotnet run -c Release --project bench/AdaptSharp.Bench -- {suite} {string.Join(' ', context.Args)}".TrimEnd());
        Console.WriteLine($"== {suite}: {report.Machine}");
        var steps = context.IntOption("--steps", context.Quick ? 300 : 1000);
        var batch = context.IntOption("--batch", 16);
        var pgdSteps = context.IntOption("--pgd-steps", 3);
        var config = ModelPresets.Get(ModelPresets.SmallCpuPreset);
        const int batchesPerEpoch = 10;
        var count = batch * batchesPerEpoch;
        var pixels = new byte[(long)count * config.InChannels * config.ImageSize * config.ImageSize];
        new Random(0).NextBytes(pixels);
        using var dataset = ImageDataset.FromPixels("memory", pixels, count, config.InChannels, config.ImageSize, config.ImageSize,
            Enumerable.Range(0, count).Select(i => (long)(i % config.NumClasses)).ToArray(),
            Enumerable.Range(0, config.NumClasses).Select(i => $"c{i}").ToArray());
        var loader = new DataLoader(dataset, new DataLoaderOptions
        {
            BatchSize = batch,
            ShuffleSeed = 0,
            AugmentationSeed = 1,
            Prefetch = 2,
            DropLast = true,
            Transform = TransformPipeline.ForModel(config.ImageSize, config.InChannels).WithDefaultAugmentation(DatasetSpec.Parse("fashion-mnist"), config.ImageSize),
        });
        using var model = new VisionTransformer(config, PromptConfig.Parse("deep:8"), seed: 0);
        model.to(context.Device);
        var objective = new TrainingObjective(ObjectiveKind.AdaptCe, new InnerAttackOptions(0.1, 0.025, pgdSteps));
        using var trainer = new Trainer(model, objective, loader, new TrainerOptions { Epochs = (steps + batchesPerEpoch - 1) / batchesPerEpoch });

        var samples = new List<(long Step, double Mb)>();
        var probe = new StepProbe(trainer, 50, samples);
        var watch = Stopwatch.StartNew();
        trainer.Run(probe);
        var seconds = watch.Elapsed.TotalSeconds;
        var baseline = samples.First(s => s.Step >= 100).Mb;
        var last = samples[^1].Mb;
        var growth = (last - baseline) / baseline;
        report.Values["rss_mb_at_step_100"] = baseline;
        report.Values["rss_mb_at_end"] = last;
        report.Values["rss_growth_fraction"] = growth;
        report.Values["steps"] = trainer.Step;
        report.Check($"resident memory flat over {trainer.Step} adapt-ce steps (< 2% growth after step 100)", growth < 0.02,
            $"{baseline:N1} MB at step 100 -> {last:N1} MB at step {samples[^1].Step} ({growth:+0.00%;-0.00%})");
        report.Notes.Add($"{trainer.Step} Trainer steps of adapt-ce (PGD-{pgdSteps}), batch {batch}, CPU preset deep:8, data loader with augmentation and prefetch 2: {seconds:N1} s ({trainer.Step * batch / seconds:N0} images/s).");
        report.Notes.Add("RSS (MB) every 50 steps after a GC: " + string.Join(", ", samples.Select(s => $"{s.Step}: {s.Mb:N1}")));
        Console.WriteLine($"  RSS {baseline:N1} MB (step 100) -> {last:N1} MB (step {samples[^1].Step}): {growth:P2}");
        report.Write();
        return growth < 0.02 ? 0 : 1;
    }

    /// <summary>Samples resident memory synchronously every <c>every</c> optimizer steps.</summary>
    private sealed class StepProbe(Trainer trainer, int every, List<(long Step, double Mb)> samples) : IProgress<TrainingProgress>
    {
        private long lastSampled = -1;

        public void Report(TrainingProgress value)
        {
            var step = trainer.Step;
            if (step % every != 0 || step == lastSampled) return;
            lastSampled = step;
            samples.Add((step, BenchContext.ResidentMb()));
        }
    }
}
