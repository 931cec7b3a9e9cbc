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
/// A second AutoAttack run at eps 0.002 on --worst-points (10) points, where almost nothing breaks, gives the worst-case cost.
/// Options: --device, --repeats N (3), --points N (100), --eps E (0.1, Fashion-MNIST's), --worst-points N (10), --quick (no vit-tiny).
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
        AutoAttackCost(report, context, shapes[0], context.IntOption("--points", 100), context.StringOption("--eps", "0.1")!, "typical");
        // At a radius so small that almost nothing breaks, every stage runs on every point: the worst-case cost per point.
        AutoAttackCost(report, context, shapes[0], context.IntOption("--worst-points", 10), "0.002", "worst case");
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
        var steps = 10;
        var pgd = new Pgd(ThreatModel.LInf(0.1), new PgdOptions(steps, 0.025), seed: 0);
        var fullFlops = FlopCounter.Forward(c, p) + FlopCounter.TrainingBackward(c, p, TrainableSet.Backbone | TrainableSet.Prompts);
        void Plain()
        {
            using var s = NewDisposeScope();
            model.SetTrainable(TrainableSet.Backbone | TrainableSet.Prompts);
            model.zero_grad();
            F.cross_entropy(model.forward(x), y).backward();
        }
        void PgdTen()
        {
            using var s = NewDisposeScope();
            model.SetTrainable(TrainableSet.Prompts);
            pgd.Perturb(model.Prompted, x, y);
        }
        // Interleaved: each round times one plain forward+backward and one PGD-10, so both see the same load.
        BenchContext.ResetPeakResident();
        context.WarmUpAfterReset(Plain);
        context.WarmUpAfterReset(PgdTen);
        var rounds = Math.Max(3, context.Repeats);
        var (plainTimes, pgdTimes, ratios) = (new double[rounds], new double[rounds], new double[rounds]);
        for (var i = 0; i < rounds; i++)
        {
            var w = System.Diagnostics.Stopwatch.StartNew();
            Plain();
            context.Synchronize();
            plainTimes[i] = w.Elapsed.TotalSeconds;
            w.Restart();
            PgdTen();
            context.Synchronize();
            pgdTimes[i] = w.Elapsed.TotalSeconds / steps;
            ratios[i] = plainTimes[i] / pgdTimes[i];
        }
        model.zero_grad();
        var peakMb = BenchContext.PeakResidentMb();
        BenchRow Row(string workload, double[] times, double flops, string note)
        {
            var t = Timing.From(times);
            return new BenchRow("gradients", workload, name, shape.Batch, shape.Tokens, c.ImageSize, t.Median, t.Min, shape.Batch / t.Median,
                flops, flops * shape.Batch / t.Median / 1e9, flops * shape.Batch / t.Min / 1e9 / report.GemmPeakGflops, peakMb, note);
        }
        var plain = Row("forward + full backward", plainTimes, fullFlops, "interleaved with the PGD rounds");
        var perStep = Row($"PGD-{steps}, per gradient step", pgdTimes, FlopCounter.AttackStep(c, p), "library Pgd.Perturb, time / 10");
        report.Add(plain);
        report.Add(perStep);
        var ratio = Timing.From(ratios).Median;
        report.Values[$"{shape.Label}_pgd_grad_evals_per_s"] = perStep.ImagesPerSecond;
        report.Values[$"{shape.Label}_plain_fwd_bwd_images_per_s"] = plain.ImagesPerSecond;
        report.Check($"{shape.Label}: PGD gradient evaluations/s vs plain forward+backward", ratio >= 1.0,
            $"{perStep.ImagesPerSecond:N1} vs {plain.ImagesPerSecond:N1} images/s, median of per-round ratios {ratio:N2}x (the input gradient skips the weight-gradient GEMMs; the PGD step adds the image gradient, loss, sign and projection)");
    }

    private static void AutoAttackCost(BenchReport report, BenchContext context, Workloads.Shape shape, int points, string epsText, string label)
    {
        using var scope = NewDisposeScope();
        var eps = double.Parse(epsText, System.Globalization.CultureInfo.InvariantCulture);
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

        var aa = new AutoAttack(threat, new AutoAttackOptions(AutoAttackVersion.Standard), seed: 0);
        var watch = Stopwatch.StartNew();
        var result = aa.Evaluate(model.Prompted, model.Prompted, x, y);
        context.Synchronize();
        var seconds = watch.Elapsed.TotalSeconds;
        var perHundred = seconds * 100.0 / points;
        report.Values[$"autoattack_{label}_seconds_per_100_points"] = perHundred;
        report.Values[$"autoattack_{label}_points_per_second"] = points / seconds;
        report.Values[$"pgd10_{label}_seconds_per_100_points"] = pgdSeconds * 100.0 / points;
        report.Values[$"autoattack_{label}_over_pgd10_cost_per_point"] = seconds / pgdSeconds;
        report.Notes.Add($"AutoAttack standard ({label}), L-inf eps {eps}, {points} points of the {shape.Label} ({shape.Prompts}, untrained weights, labels = its own predictions so all points start clean-correct): " +
            $"{seconds:N1} s = **{perHundred:N1} s per 100 points ({points / seconds:N2} points/s)**; robust accuracy after the cascade {result.RobustAccuracy:P0}. " +
            $"PGD-10 on the same points: {pgdSeconds:N2} s ({pgdSeconds * 100.0 / points:N2} s per 100 points): AutoAttack costs {seconds / pgdSeconds:N0}x PGD-10 per point. " +
            "Its cost depends on how many points survive each stage (an untrained model breaks early; a robust one pays all four stages).");
        foreach (var stage in result.Stages)
            report.Notes.Add($"  stage {stage.Name}: {stage.AttackedCount} points attacked, {stage.FooledCount} broken, {stage.Elapsed.TotalSeconds:N1} s, {stage.GradientEvaluations} gradient evaluations, {stage.Queries} queries");
        Console.WriteLine($"  AutoAttack standard ({label}, eps {eps}): {perHundred:N1} s / 100 points, {points / seconds:N2} points/s, {seconds / pgdSeconds:N0}x PGD-10");
    }
}
