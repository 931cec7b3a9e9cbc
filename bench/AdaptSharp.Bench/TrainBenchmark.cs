using AdaptSharp.Runtime;
using AdaptSharp.Training;
using static TorchSharp.torch;

namespace AdaptSharp.Bench;

/// <summary>
/// Suite <c>train</c>: images/s of one Trainer.TrainStep per objective (natural, nfgsm, at, trades, mart, adapt-ce,
/// adapt-kl) on the CPU preset (PGD-10) and the vit-tiny / vit-small shapes (PGD-2, to keep the run short), with
/// achieved FLOP/s and its ratio to the GEMM peak measured in the same run.
/// The ViT shapes use half the perf suite's batch and one timed run after the warm-up (seconds per step on 2 cores).
/// Options: --device, --repeats N (3 for the CPU preset, 1 for the ViT shapes), --quick (CPU preset and vit-tiny only), --objectives a,b,...
/// </summary>
public static class TrainBenchmark
{
    public static int Run(string[] args) => Run(new BenchContext(args), "train");

    public static int Run(BenchContext context, string suite)
    {
        var report = new BenchReport(suite, context, $"dotnet run -c Release --project bench/AdaptSharp.Bench -- {suite} {string.Join(' ', context.Args)}".TrimEnd());
        Console.WriteLine($"== {suite}: {report.Machine}");
        report.MeasureGemmPeak();
        var objectives = context.StringOption("--objectives", null) is string list
            ? list.Split(',').Select(TrainingObjective.ParseKind).ToArray()
            : Workloads.AllObjectives;
        var shapes = Workloads.Standard(context).Take(context.Quick ? 2 : 3)
            .Select(s => s.Label == "cpu-preset" ? s : s with { Batch = Math.Max(2, s.Batch / 2) });
        foreach (var shape in shapes)
        {
            // The ViT shapes take seconds per step on 2 cores: one timed run after the warm-up keeps the suite short.
            var repeats = context.Args.Contains("--repeats") ? context.Repeats : shape.Label == "cpu-preset" ? 3 : 1;
            using var scope = NewDisposeScope();
            using var model = Workloads.Model(shape, context.Device);
            var (x, y) = Workloads.Batch(shape.Config, shape.Batch, context.Device);
            var name = $"{shape.Label} {shape.Prompts}";
            foreach (var kind in objectives)
            {
                using var trainer = Workloads.Trainer(model, kind, shape.PgdSteps, x, y);
                var flops = TrainingFlops.Step(shape.Config, shape.Prompts, kind, shape.PgdSteps, trainer.Options.Trainable);
                var row = report.Measure("train", kind switch
                {
                    ObjectiveKind.Natural => "natural step",
                    ObjectiveKind.Nfgsm => "nfgsm step (1 FGSM)",
                    _ => $"{TrainingObjective.FormatKind(kind)} step (PGD-{shape.PgdSteps})",
                }, name, shape.Batch,
                    shape.Tokens, shape.Config.ImageSize, flops, Workloads.TrainStep(trainer, x, y), repeats);
                if (kind == ObjectiveKind.AdaptCe)
                    report.Values[$"{shape.Label}_adapt_ce_peak_fraction"] = row.PeakFraction;
            }
        }
        report.Notes.Add("Trainer.TrainStep on a fixed batch: inner attack, outer loss, backward, global-norm clip, SGD step; prompts + head + patch embedding trainable.");
        report.Notes.Add("FLOPs per image from TrainingFlops.Step (see the perf suite's notes); 'best / GEMM peak' uses the best run.");
        report.Write();
        return 0;
    }
}
