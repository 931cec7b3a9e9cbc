using AdaptSharp.Attacks;
using AdaptSharp.Cluster;

namespace AdaptSharp.Evaluation;

/// <summary>
/// What to evaluate (see <see cref="EvalPlanner"/> for the plan it makes). <see cref="Attacks"/>: the suite; clean is always
/// evaluated first. <see cref="Sources"/>: adaptive and/or agnostic for white-box attacks. <see cref="RunChecks"/>:
/// run the checklist's extra attacks (PGD with 5x steps and 2 restarts, PGD at <see cref="LargeEps"/>, input
/// gradients) on the first <see cref="CheckPoints"/> points. <see cref="EpsSweep"/>: eps values at which
/// <see cref="SweepAttack"/> is run on all points for the accuracy vs eps curve (empty = no sweep).
/// <see cref="Data"/>/<see cref="Split"/> only label the report.
/// </summary>
public sealed record EvaluationOptions
{
    public required ThreatModel Threat { get; init; }

    public IReadOnlyList<AttackSpec> Attacks { get; init; } = [new CleanSpec(), new FgsmSpec(false), new PgdSpec(10)];

    public IReadOnlyList<AttackSource> Sources { get; init; } = [AttackSource.Adaptive];

    public long Seed { get; init; }

    public int BatchSize { get; init; } = 128;

    public bool RunChecks { get; init; } = true;

    public int CheckPoints { get; init; } = 200;

    /// <summary>Null: 0.5 for L-inf, 0.5 * sqrt(pixels per image) for L2.</summary>
    public double? LargeEps { get; init; }

    public IReadOnlyList<double> EpsSweep { get; init; } = [];

    /// <summary>Null: the suite's first PGD attack, else pgd10.</summary>
    public AttackSpec? SweepAttack { get; init; }

    public ChecklistThresholds Thresholds { get; init; } = new();

    public string Data { get; init; } = "";

    public string Split { get; init; } = "test";

    /// <summary>
    /// Run only this shard's contiguous range of batches (of every run of the plan, by batch index), leaving the other
    /// points not done; null = everything. <see cref="Cluster.ShardMerger"/> joins the shards.
    /// </summary>
    public ShardSpec? Shard { get; init; }

    /// <summary>Model label in the report; null = the model config's name.</summary>
    public string? ModelName { get; init; }

    public void Validate()
    {
        if (BatchSize < 1) throw new ArgumentException($"batch size must be >= 1, got {BatchSize}");
        if (CheckPoints < 1) throw new ArgumentException($"check points must be >= 1, got {CheckPoints}");
        if (Sources.Count == 0) throw new ArgumentException("name at least one attack source");
        if (Attacks.Count == 0) throw new ArgumentException("name at least one attack");
        if (SweepAttack is CleanSpec) throw new ArgumentException("the sweep attack cannot be clean");
        if (EpsSweep.Any(e => !(e >= 0) || double.IsInfinity(e))) throw new ArgumentException("sweep eps values must be finite and >= 0");
        if (LargeEps is { } l && !(l > 0)) throw new ArgumentException("large eps must be > 0");
    }
}
