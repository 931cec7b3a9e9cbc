using System.Diagnostics;
using System.Globalization;
using AdaptSharp.Attacks;

namespace AdaptSharp.Evaluation;

/// <summary>
/// The mutable state of one evaluation: per-point flags and statistics per plan run (by key), the gradient
/// statistics, and what an earlier (resumed) run contributed. Reports are snapshotted from it: <paramref name="header"/>
/// says what was evaluated (model, data, points, seed, threat model, batch size, surrogates, shard), the state adds the results.
/// </summary>
internal sealed class EvaluationState(EvalPlan plan, RobustnessReport header, ChecklistThresholds thresholds) : PlanState(plan, header.N)
{
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private double previousSeconds;

    public GradientStatistics? Gradients { get; set; }

    /// <summary>
    /// Takes over the finished batches of <paramref name="saved"/>; refuses (through <paramref name="require"/>) a saved
    /// state of another evaluation or whose work differs.
    /// </summary>
    public void Adopt(EvaluationResult saved, Action<bool, string> require)
    {
        var report = saved.Report;
        foreach (var (what, same, value, asked) in report.Settings(header))
            require(same, $"{what} ({value} saved, {asked} asked)");
        require(report.Shard == header.Shard, $"shard ({report.Shard ?? "none"} saved, {header.Shard ?? "none"} asked)");
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
        var layout = Plan.Layout;
        var records = layout.Select(Record).ToList();
        var attacks = new List<AttackResult>();
        // Per point, the lowest flag of the columns so far: not done (-1) while any is not done, else 1 when robust to all.
        var worst = Enumerable.Repeat((sbyte)1, N).ToArray();
        foreach (var (run, record) in Plan.Columns.Zip(records))
        {
            var f = Flags[run.Key];
            for (var p = 0; p < N; p++)
                worst[p] = Math.Min(worst[p], f[p]);
            attacks.Add(new AttackResult(run.Spec, run.Source, run.Spec.Describe(run.Threat), record.Done, record.Robust,
                record.Accuracy, RobustFraction(worst), record.MaxPerturbation, record.Seconds, record.GradientEvaluations, record.Queries,
                run.Surrogate));
        }
        var report = header with
        {
            Attacks = attacks,
            CleanAccuracy = attacks[0].RobustAccuracy,
            RobustAccuracy = RobustFraction(worst),
            SourceGaps = SourceGap.From(attacks, N),
            Gradients = Gradients,
            Runs = records,
            Complete = complete,
            CreatedUtc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            TotalSeconds = previousSeconds + clock.Elapsed.TotalSeconds,
        };
        var columns = layout.Select(r => Flags[r.Key]).ToList();
        var flags = new RobustFlags(N, layout.Count, [.. Enumerable.Range(0, N).SelectMany(p => columns.Select(f => f[p]))]);
        var checklist = MaskingChecklist.Evaluate(attacks, N, report.CheckRuns, Gradients, header.PromptFingerprint is not null, thresholds, records);
        return new EvaluationResult(report with { Checklist = checklist }, flags);
    }

    /// <summary>Robust points over done points (0 when none is done) of the per-point worst flags.</summary>
    private static double RobustFraction(sbyte[] worst)
    {
        var done = worst.Count(w => w != RobustFlags.NotDone);
        return done == 0 ? 0.0 : (double)worst.Count(w => w == 1) / done;
    }
}
