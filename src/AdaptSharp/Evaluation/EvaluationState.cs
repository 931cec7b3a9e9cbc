using System.Diagnostics;
using System.Globalization;
using AdaptSharp.Attacks;

namespace AdaptSharp.Evaluation;

/// <summary>
/// The mutable state of one evaluation: per-point flags and statistics per plan run (by key), the gradient
/// statistics, and what an earlier (resumed) run contributed. Reports are snapshotted from it.
/// </summary>
internal sealed class EvaluationState : PlanState
{
    private readonly EvaluationOptions options;
    private readonly EvalPlanIdentity id;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private double previousSeconds;

    public EvaluationState(EvalPlan plan, int n, EvaluationOptions options, EvalPlanIdentity id)
        : base(plan, n)
    {
        this.options = options;
        this.id = id;
    }

    public GradientStatistics? Gradients { get; set; }

    /// <summary>
    /// Takes over the finished batches of <paramref name="saved"/>; refuses (through <paramref name="require"/>) a saved
    /// state of another evaluation or whose work differs.
    /// </summary>
    public void Adopt(EvaluationResult saved, Action<bool, string> require)
    {
        var report = saved.Report;
        foreach (var (what, same, value, asked) in report.Settings(Snapshot(complete: false).Report))
            require(same, $"{what} ({value} saved, {asked} asked)");
        require(report.Shard == options.Shard?.ToString(), $"shard ({report.Shard ?? "none"} saved, {options.Shard?.ToString() ?? "none"} asked)");
        require(saved.Flags.Points == N && saved.Flags.Columns == report.Runs.Count,
            $"flags ({saved.Flags.Points} x {saved.Flags.Columns} saved, {N} points x {report.Runs.Count} runs in report.json)");
        for (var c = 0; c < report.Runs.Count; c++)
        {
            var s = report.Runs[c];
            var run = Plan.Runs.FirstOrDefault(r => r.Key == s.Key);
            require(run is not null, $"plan (the saved run has '{s.Key}', this one does not: pass the same attacks and options, or choose another --out)");
            require(run!.SameWorkAs(s), $"run '{s.Key}' (saved: {s.Work}; asked: {run.Spec}/{run.SourceName} at {run.Threat} on {run.Points} points)");
            var flags = Flags[s.Key];
            for (var p = 0; p < N; p++)
                flags[p] = saved.Flags[p, c];
            Stats[s.Key] = new RunStats { MaxPerturbation = s.MaxPerturbation, Seconds = s.Seconds, GradientEvaluations = s.GradientEvaluations, Queries = s.Queries };
        }
        Gradients = report.Gradients;
        previousSeconds = report.TotalSeconds;
    }

    public EvaluationResult Snapshot(bool complete)
    {
        var o = options;
        var layout = Plan.Layout;
        var records = layout.Select(Record).ToList();
        var columns = Plan.Columns;
        var attacks = new List<AttackResult>();
        var worst = Enumerable.Repeat(true, N).ToArray();
        var worstDone = Enumerable.Repeat(true, N).ToArray();
        foreach (var (run, record) in columns.Zip(records))
        {
            var f = Flags[run.Key];
            for (var p = 0; p < N; p++)
            {
                worstDone[p] &= f[p] != RobustFlags.NotDone;
                worst[p] &= f[p] == 1;
            }
            var cumDone = worstDone.Count(d => d);
            var cumRobust = worstDone.Zip(worst, (d, r) => d && r).Count(b => b);
            attacks.Add(new AttackResult(run.Spec, run.Source, run.Spec.Describe(run.Threat), record.Done, record.Robust,
                record.Accuracy, cumDone == 0 ? 0.0 : (double)cumRobust / cumDone,
                record.MaxPerturbation, record.Seconds, record.GradientEvaluations, record.Queries, run.Surrogate));
        }
        var checkRuns = records.Where(r => r.Role == RunRole.Check && r.Done == r.Points)
            .Select(r => new SubsetRun(r.Purpose!, r.Attack, r.Source, r.Threat, r.Points, r.Robust, r.MaxPerturbation, r.Seconds)).ToList();
        var sweep = records.Where(r => r.Role == RunRole.Sweep && r.Done == r.Points)
            .Select(r => new EpsSweepPoint(r.Threat.Eps, r.Attack, r.Source, r.Points, r.Robust))
            .OrderBy(p => p.Source).ThenBy(p => p.Eps).ToList();
        var allDone = worstDone.Count(d => d);
        var report = new RobustnessReport
        {
            Model = id.Model,
            ModelFingerprint = id.ModelFingerprint,
            PromptFingerprint = id.PromptFingerprint,
            Prompts = id.Prompts,
            Data = o.Data,
            Split = o.Split,
            N = N,
            Seed = o.Seed,
            Threat = o.Threat,
            BatchSize = o.BatchSize,
            Surrogates = id.Surrogates,
            Attacks = attacks,
            CleanAccuracy = attacks[0].RobustAccuracy,
            RobustAccuracy = allDone == 0 ? 0.0 : (double)worstDone.Zip(worst, (d, r) => d && r).Count(b => b) / allDone,
            SourceGaps = SourceGap.From(attacks, N),
            Checklist = MaskingChecklist.Evaluate(attacks, N, checkRuns, Gradients, id.HasPrompts, o.Thresholds, records),
            CheckRuns = checkRuns,
            Gradients = Gradients,
            EpsSweep = sweep,
            Runs = records,
            Shard = o.Shard?.ToString(),
            Complete = complete,
            CreatedUtc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            TotalSeconds = previousSeconds + clock.Elapsed.TotalSeconds,
        };
        var values = new sbyte[(long)N * layout.Count];
        for (var c = 0; c < layout.Count; c++)
        {
            var f = Flags[layout[c].Key];
            for (var p = 0; p < N; p++)
                values[(long)p * layout.Count + c] = f[p];
        }
        return new EvaluationResult(report, new RobustFlags(N, layout.Count, values));
    }
}
