using System.Diagnostics;
using System.Globalization;
using AdaptSharp.Checkpoints;
using AdaptSharp.Data;
using AdaptSharp.Evaluation;
using AdaptSharp.Models;
using AdaptSharp.Runtime;
using AdaptSharp.Study;
using AdaptSharp.Training;
using static TorchSharp.torch;

namespace AdaptSharp.Demo;

/// <summary>
/// The embedded default: the runs of a demo plan (<see cref="DemoPlan"/>) through the study's runner, which
/// reuses what the output folder already holds and resumes what was interrupted, plus the backbone's own clean
/// accuracy for the report. UI-free: the caller supplies how a training job and an evaluation are run.
/// </summary>
internal sealed class DemoStudy
{
    private readonly StudyPlan plan;
    private readonly string backbone;
    private readonly DatasetSpec data;
    private readonly string device;
    private readonly StudyRunner runner;

    public DemoStudy(StudyPlan plan, string backbone, DatasetSpec data, string outputDirectory, string device, Action<string>? log = null)
    {
        this.plan = plan;
        this.backbone = backbone;
        this.data = data;
        this.device = device;
        runner = new StudyRunner(plan, backbone, data, outputDirectory, device, log);
    }

    /// <summary>
    /// Runs every method; already finished artifacts and reports in the output folder are reused. The report's time is
    /// <paramref name="clock"/>'s (started by the caller when it ran the runs elsewhere first), and
    /// <paramref name="threads"/> says how the torch threads were shared when not by this process alone, and
    /// <paramref name="ranElsewhere"/> names the runs that worker processes finished for this call (not reused).
    /// </summary>
    public DemoResult Run(Func<TrainingJobSpec, TrainingJobResult> train, EvaluationDriver evaluate, string backboneSource,
        Stopwatch? clock = null, string? threads = null, IReadOnlyCollection<string>? ranElsewhere = null)
    {
        clock ??= Stopwatch.StartNew();
        var results = plan.Runs.Select(run => runner.Run(run, train, evaluate))
            .Select(r => ranElsewhere?.Contains(r.Run.Id) == true ? r with { Reused = false } : r).ToList();
        return new DemoResult(plan, backbone, backboneSource, new FileInfo(backbone).Length, BackboneCleanAccuracy(), results,
            clock.Elapsed.TotalSeconds, MachineDescription.Describe(threads), DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture));
    }

    /// <summary>Trains and evaluates only <paramref name="runs"/> (a parallel demo's worker); no report.</summary>
    public void RunOnly(IEnumerable<StudyRun> runs, Func<TrainingJobSpec, TrainingJobResult> train, EvaluationDriver evaluate)
    {
        foreach (var run in runs)
            runner.Run(run, train, evaluate);
    }

    /// <summary>The runs whose prompt file or main evaluation is not finished yet, the most expensive first.</summary>
    public IReadOnlyList<StudyRun> Pending() =>
        plan.Runs.Where(run => runner.TryLoad(run) is not { } done || (run.AutoAttack && done.AutoAttack is null) || (run.Rays && done.Rays is null))
            .OrderByDescending(plan.EstimatedCost).ToList();

    /// <summary>Clean accuracy of the backbone file alone: f_0 of a tuned model carries the tuned head and patch embedding.</summary>
    private double BackboneCleanAccuracy()
    {
        using var plain = ModelLoader.Load(new ModelRequest(backbone, null), TorchRuntime.ResolveDevice(device));
        var (x, y) = DatasetLoader.LoadEvaluationSet(data, plan.EvalPoints, plain.Model.Config.ImageSize, plain.Model.Config.InChannels,
            plain.Model.parameters().First().device, DatasetSplit.Test);
        using (x)
        using (y)
        using (no_grad())
        {
            long correct = 0;
            for (long start = 0; start < x.shape[0]; start += plan.EvalBatchSize)
            {
                using var scope = NewDisposeScope();
                var n = Math.Min(plan.EvalBatchSize, x.shape[0] - start);
                correct += plain.Model.forward(x.narrow(0, start, n)).argmax(1).eq(y.narrow(0, start, n)).sum().item<long>();
            }
            return (double)correct / x.shape[0];
        }
    }
}
