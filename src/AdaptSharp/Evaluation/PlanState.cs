namespace AdaptSharp.Evaluation;

/// <summary>Per-point flags (<see cref="RobustFlags.NotDone"/> at first) and statistics of every run of a plan, by key.</summary>
internal class PlanState
{
    public PlanState(EvalPlan plan, int n)
    {
        N = n;
        foreach (var run in plan.Runs)
        {
            Flags[run.Key] = Enumerable.Repeat(RobustFlags.NotDone, n).ToArray();
            Stats[run.Key] = new RunStats();
        }
    }

    public int N { get; }

    public Dictionary<string, sbyte[]> Flags { get; } = [];

    public Dictionary<string, RunStats> Stats { get; } = [];

    internal sealed class RunStats
    {
        public double MaxPerturbation;
        public double Seconds;
        public long GradientEvaluations;
        public long Queries;
    }
}
