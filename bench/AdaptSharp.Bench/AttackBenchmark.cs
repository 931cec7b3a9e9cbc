using System.Diagnostics;
using AdaptSharp.Attacks;
using AdaptSharp.Models;
using AdaptSharp.Runtime;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AdaptSharp.Bench;

/// <summary>
/// Suite <c>attacks</c>: gradient evaluations per second of the library's PGD-10 against a plain training-style
/// forward + full backward (all weights requiring grad) on the same model and batch; then AutoAttack standard
/// (APGD-CE, APGD-T, FAB-T, Square) on 100 points of the CPU preset: wall time per 100 points, points/s, and the
/// cost per point against PGD-10's.
/// Options: --device, --repeats N (3), --points N (100), --eps E (0.1, Fashion-MNIST's), --quick (no vit-tiny).
/// </summary>
public static class AttackBenchmark
{
    public static int Run(string[] args) => Run(new BenchContext(args), "attacks");

    public static int Run(BenchContext context, string suite)
    {
        var report = new BenchReport(suite, context, $"dotnet run -c Release --project bench/AdaptSharp.Bench -- {suite} {string.Join(' ', context.Args)}".TrimEnd());
        Console.WriteLine($"== {suite}: {report.Machine}");
        report.MeasureGemmPeak();
        var shapes = Workloads.Standard(context).Take(context.Quick ? 1 : 2).ToList();
        foreach (var shape in shapes)
            GradientThroughput(report, context, shape);
        AutoAttackCost(report, context, shapes[0]);
        report.Write();
        return 0;
    }

    private static void GradientThroughput(BenchReport report, BenchContext context, Workloads.Shape shape)
    {
        using var scope = NewDisposeScope();
        var (c, p) = (shape.Config, shape.Prompts);
        using var model = Workloads.Model(shape, context.Device);
        var (x, y) = Workloads.Batch(c, shape.Batch, context.Device);
        var name = $"{shape.Label} {p}";
        model.SetTrainable(TrainableSet.Backbone | TrainableSet.Prompts);
        var fullBackward = FlopCounter.Forward(c, p) + FlopCounter.TrainingBackward(c, p, TrainableSet.Backbone | TrainableSet.Prompts);
        var plain = report.Measure("gradients", "forward + full backward", name, shape.Batch, shape.Tokens, c.ImageSize, fullBackward, () =>
        {
            using var s = NewDisposeScope();
            model.zero_grad();
            F.cross_entropy(model.forward(x), y).backward();
        });
        model.zero_grad();
        model.SetTrainable(TrainableSet.Prompts);
        var steps = 10;
        var pgd = new Pgd(ThreatModel.LInf(0.1), new PgdOptions(steps, 0.025), seed: 0);
        var (timing, peakMb, _) = context.TimeWithMemory(() =>
        {
            using var s = NewDisposeScope();
            pgd.Perturb(model.Prompted, x, y);
        });
        // One PGD-10 call is `steps` gradient evaluations of the batch: the row reports one step.
        var (median, best) = (timing.Median / steps, timing.Min / steps);
        var stepFlops = FlopCounter.AttackStep(c, p);
        var perStep = new BenchRow("gradients", $"PGD-{steps}, per gradient step", name, shape.Batch, shape.Tokens, c.ImageSize,
            median, best, shape.Batch / median, stepFlops, stepFlops * shape.Batch / median / 1e9,
            stepFlops * shape.Batch / best / 1e9 / report.GemmPeakGflops, peakMb, "library Pgd.Perturb, time / 10");
        report.Add(perStep);
        var ratio = perStep.ImagesPerSecond / plain.ImagesPerSecond;
        report.Values[$"{shape.Label}_pgd_grad_evals_per_s"] = perStep.ImagesPerSecond;
        report.Values[$"{shape.Label}_plain_fwd_bwd_images_per_s"] = plain.ImagesPerSecond;
        report.Check($"{shape.Label}: PGD gradient evaluations/s vs plain forward+backward", ratio >= 1.0,
            $"{perStep.ImagesPerSecond:N1} vs {plain.ImagesPerSecond:N1} images/s = {ratio:N2}x (input gradient only skips the weight-gradient GEMMs)");
    }

    private static void AutoAttackCost(BenchReport report, BenchContext context, Workloads.Shape shape)
    {
        using var scope = NewDisposeScope();
        var points = context.IntOption("--points", 100);
        var eps = double.Parse(context.StringOption("--eps", "0.1")!, System.Globalization.CultureInfo.InvariantCulture);
        using var model = Workloads.Model(shape, context.Device);
        model.SetTrainable(TrainableSet.Prompts);
        model.eval();
        var (x, _) = Workloads.Batch(shape.Config, points, context.Device, seed: 3);
        // Labels = the model's own predictions, so every point starts clean-correct and the cascade attacks all of them.
        Tensor y;
        using (no_grad())
            y = model.Prompted.Forward(x).argmax(1);
        var threat = ThreatModel.LInf(eps);

        var pgd = new Pgd(threat, new PgdOptions(10, eps / 4), seed: 0);
        var pgdWatch = Stopwatch.StartNew();
        using (NewDisposeScope())
            pgd.Perturb(model.Prompted, x, y);
        context.Synchronize();
        var pgdSeconds = pgdWatch.Elapsed.TotalSeconds;

        var aa = new AutoAttack(threat, AutoAttackVersion.Standard, seed: 0);
        var watch = Stopwatch.StartNew();
        var result = aa.Evaluate(model.Prompted, model.Prompted, x, y);
        context.Synchronize();
        var seconds = watch.Elapsed.TotalSeconds;
        var perHundred = seconds * 100.0 / points;
        report.Values["autoattack_seconds_per_100_points"] = perHundred;
        report.Values["autoattack_points_per_second"] = points / seconds;
        report.Values["pgd10_seconds_per_100_points"] = pgdSeconds * 100.0 / points;
        report.Values["autoattack_over_pgd10_cost_per_point"] = seconds / pgdSeconds;
        report.Notes.Add($"AutoAttack standard, L-inf eps {eps}, {points} points of the {shape.Label} ({shape.Prompts}, untrained weights, labels = its own predictions so all points start clean-correct): " +
            $"{seconds:N1} s = **{perHundred:N1} s per 100 points ({points / seconds:N2} points/s)**; robust accuracy after the cascade {result.RobustAccuracy:P0}. " +
            $"PGD-10 on the same points: {pgdSeconds:N2} s ({pgdSeconds * 100.0 / points:N2} s per 100 points): AutoAttack costs {seconds / pgdSeconds:N0}x PGD-10 per point. " +
            "Its cost depends on how many points survive each stage (an untrained model breaks early; a robust one pays all four stages).");
        foreach (var stage in result.Stages)
            report.Notes.Add($"  stage {stage.Name}: {stage.AttackedCount} points attacked, {stage.FooledCount} broken, {stage.Elapsed.TotalSeconds:N1} s, {stage.GradientEvaluations} gradient evaluations, {stage.Queries} queries");
        Console.WriteLine($"  AutoAttack standard: {perHundred:N1} s / 100 points, {points / seconds:N2} points/s, {seconds / pgdSeconds:N0}x PGD-10");
    }
}
