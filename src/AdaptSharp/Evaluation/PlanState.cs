using AdaptSharp.Attacks;

namespace AdaptSharp.Evaluation;

/// <summary>Per-point flags (<see cref="RobustFlags.NotDone"/> at first) and statistics of every run of a plan, by key, and their records.</summary>
internal class PlanState
{
    public PlanState(EvalPlan plan, int n)
    {
        Plan = plan;
        N = n;
        foreach (var run in plan.Runs)
        {
            Flags[run.Key] = Enumerable.Repeat(RobustFlags.NotDone, n).ToArray();
            Stats[run.Key] = new RunStats();
        }
    }

    public EvalPlan Plan { get; }

    public int N { get; }

    public Dictionary<string, sbyte[]> Flags { get; } = [];

    public Dictionary<string, RunStats> Stats { get; } = [];

    /// <summary>How far <paramref name="run"/> got; a cascade's cost is its stages' cost.</summary>
    public RunRecord Record(PlanRun run)
    {
        var f = Flags[run.Key];
        var s = Stats[run.Key];
        if (run.Spec is AutoAttackSpec)
        {
            var stages = Plan.Runs.Where(r => r.Key.StartsWith(run.Key + ":", StringComparison.Ordinal)).Select(r => Stats[r.Key]).ToList();
            s = new RunStats
            {
                MaxPerturbation = stages.Select(x => x.MaxPerturbation).DefaultIfEmpty(0).Max(),
                Seconds = stages.Sum(x => x.Seconds),
                GradientEvaluations = stages.Sum(x => x.GradientEvaluations),
                Queries = stages.Sum(x => x.Queries),
            };
        }
        return new RunRecord(run.Key, run.Spec, run.Source, run.Threat, run.Points, run.Role, run.Purpose,
            f.Count(v => v != RobustFlags.NotDone), f.Count(v => v == 1), s.MaxPerturbation, s.Seconds, s.GradientEvaluations, s.Queries,
            run.Surrogate);
    }

    internal sealed class RunStats
    {
        public double MaxPerturbation;
        public double Seconds;
        public long GradientEvaluations;
        public long Queries;
    }
}
