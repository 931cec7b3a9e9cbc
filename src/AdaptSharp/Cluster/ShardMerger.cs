using AdaptSharp.Attacks;
using AdaptSharp.Evaluation;

namespace AdaptSharp.Cluster;

/// <summary>
/// Joins the saved states of the N shards of one evaluation (<see cref="EvaluationOptions.Shard"/>) into the result an
/// unsharded run gives: the same plan, per-point flags taken from the shard that owns each batch, statistics summed
/// (maximum for the largest perturbation), and the report, worst case and gradient-masking checklist computed from the
/// merged runs. It refuses, with one line naming the folder, anything that is not exactly shards 1..N of one
/// evaluation: a missing, duplicated or incomplete shard, a whole (unsharded) state, or a shard of another model,
/// prompts, transfer surrogates, data, split, point count, seed, threat model, batch size or plan; and it checks that every batch of every
/// run was done by its owner and by no other shard.
/// </summary>
internal static class ShardMerger
{
    /// <summary>Merges <paramref name="shards"/> (label, usually the folder, and saved state) in any order.</summary>
    public static EvaluationResult Merge(IReadOnlyList<(string Label, EvaluationResult State)> shards)
    {
        if (shards.Count == 0)
            throw new ArgumentException("merge: no shard folders (expected OUT/shard-K-of-N folders written by adapt eval --shard K/N)");
        var parsed = shards.Select(s => (s.Label, Shard: ShardOf(s.Label, s.State.Report), s.State)).OrderBy(s => s.Shard.Index).ToList();
        var first = parsed[0];
        var count = first.Shard.Count;
        if (parsed.FirstOrDefault(s => s.Shard.Count != count) is { Label: not null } other)
            throw new ArgumentException($"{other.Label} is shard {other.Shard} but {first.Label} is shard {first.Shard}: shards of different splits (N = {other.Shard.Count} vs {count})");
        foreach (var group in parsed.GroupBy(s => s.Shard.Index).Where(g => g.Count() > 1))
            throw new ArgumentException($"shard {group.First().Shard} is given twice: {string.Join(" and ", group.Select(g => g.Label))}");
        if (Enumerable.Range(1, count).FirstOrDefault(k => parsed.All(s => s.Shard.Index != k)) is > 0 and var missing)
            throw new ArgumentException($"shard {missing}/{count} is missing (no {new ShardSpec(missing, count).DirectoryName} among the {parsed.Count} shard folders given): run it, then merge again");
        foreach (var s in parsed)
            RequireSameEvaluation(s.Label, s.Shard, s.State, first.Label, first.Shard, first.State);
        if (parsed.FirstOrDefault(s => !s.State.Report.Complete) is { Label: not null } incomplete)
            throw new ArgumentException($"{incomplete.Label} (shard {incomplete.Shard}) is incomplete: run it again (it resumes its saved batches), then merge");

        var reference = first.State.Report;
        var flags = MergeFlags(parsed, reference);
        var records = reference.Runs.Select((run, c) => run with
        {
            MaxPerturbation = parsed.Max(s => s.State.Report.Runs[c].MaxPerturbation),
            Seconds = parsed.Sum(s => s.State.Report.Runs[c].Seconds),
            GradientEvaluations = parsed.Sum(s => s.State.Report.Runs[c].GradientEvaluations),
            Queries = parsed.Sum(s => s.State.Report.Runs[c].Queries),
        }).ToList();
        var joined = reference with
        {
            Runs = records,
            Gradients = MergeGradients(parsed.Select(s => s.State.Report.Gradients).ToList()),
            TotalSeconds = parsed.Sum(s => s.State.Report.TotalSeconds),
            Shard = null,
        };

        // The merged state goes through the runner's own state and snapshot, so the report is built exactly as for an unsharded run.
        var plan = new EvalPlan(records.Select(r => new PlanRun(r.Key, r.Attack, r.Source, r.Threat, r.Points, r.Role)
        {
            SeedKey = r.Key,
            Purpose = r.Purpose,
            Surrogate = r.Surrogate,
        }).ToList());
        var state = new EvaluationState(plan, joined with { FormatVersion = RobustnessReport.CurrentFormat, MergedShards = count }, new ChecklistThresholds());
        state.Adopt(new EvaluationResult(joined, flags), (same, what) =>
        {
            if (!same) throw new InvalidDataException($"merge: the shards' {what} is inconsistent");
        });
        return state.Snapshot(complete: true);
    }

    private static ShardSpec ShardOf(string label, RobustnessReport report)
    {
        if (report.Shard is null)
            throw new ArgumentException($"{label} holds a whole evaluation, not a shard (its report.json has no shard K/N)");
        try
        {
            return ShardSpec.Parse(report.Shard);
        }
        catch (ArgumentException)
        {
            throw new InvalidDataException($"{label}: report.json has a bad shard '{report.Shard}' (expected K/N)");
        }
    }

    private static void RequireSameEvaluation(string label, ShardSpec shard, EvaluationResult state, string refLabel, ShardSpec refShard, EvaluationResult reference)
    {
        var r = state.Report;
        var q = reference.Report;
        void Same(bool same, string what, object value, object expected)
        {
            if (!same)
                throw new ArgumentException($"{label} (shard {shard}) is from another {what} than {refLabel} (shard {refShard}): {value} vs {expected}");
        }
        foreach (var (what, same, value, expected) in r.Settings(q))
            Same(same, what, value, expected);
        Same(r.Runs.Count == q.Runs.Count, "plan (number of runs)", r.Runs.Count, q.Runs.Count);
        foreach (var (a, b) in r.Runs.Zip(q.Runs))
            Same($"{a.Key} = {a.Work}" == $"{b.Key} = {b.Work}", "plan", $"{a.Key} = {a.Work}", $"{b.Key} = {b.Work}");
        if (state.Flags.Points != r.N || state.Flags.Columns != r.Runs.Count)
            throw new InvalidDataException($"{label}: flags.npy is {state.Flags.Points} x {state.Flags.Columns}, report.json says {r.N} points x {r.Runs.Count} runs");
    }

    /// <summary>Each batch's flags from the shard that owns it, after checking that it did them all and no other shard did any.</summary>
    private static RobustFlags MergeFlags(IReadOnlyList<(string Label, ShardSpec Shard, EvaluationResult State)> shards, RobustnessReport reference)
    {
        var n = reference.N;
        var batch = reference.BatchSize;
        var merged = new RobustFlags(n, reference.Runs.Count);
        foreach (var (label, shard, state) in shards)
        {
            var (firstBatch, endBatch) = shard.BatchRange(n, batch);
            for (var c = 0; c < reference.Runs.Count; c++)
            {
                var run = reference.Runs[c];
                for (var p = 0; p < n; p++)
                {
                    var owned = p < run.Points && p / batch >= firstBatch && p / batch < endBatch;
                    var value = state.Flags[p, c];
                    if (owned && value == RobustFlags.NotDone)
                        throw new InvalidDataException($"{label} (shard {shard}) has not done point {p} (batch {p / batch}) of run '{run.Key}', which is its own: run it again, then merge");
                    if (!owned && value != RobustFlags.NotDone)
                        throw new InvalidDataException($"{label} (shard {shard}) has point {p} (batch {p / batch}) of run '{run.Key}', which is not its own (batches {firstBatch}..{endBatch - 1}): was it written with another --batch-size or shard count?");
                    if (owned)
                        merged[p, c] = value;
                }
            }
        }
        return merged;
    }

    private static GradientStatistics? MergeGradients(IReadOnlyList<GradientStatistics?> parts)
    {
        var present = parts.OfType<GradientStatistics>().ToList();
        if (present.Count == 0)
            return null;
        var points = present.Sum(g => g.Points);
        // Every point has the same number of input elements, so the mean over all elements is the point-weighted mean.
        var mean = points == 0 ? 0.0 : present.Sum(g => g.MeanAbsGradient * g.Points) / points;
        return new GradientStatistics(points, present.Sum(g => g.ZeroGradientPoints), present.Sum(g => g.NonFiniteGradientPoints), mean)
        {
            RandomizedOutput = present.Any(g => g.RandomizedOutput),
        };
    }
}
