using AdaptSharp.Attacks;
using AdaptSharp.Cluster;

namespace AdaptSharp.Evaluation;

/// <summary>
/// What to evaluate (see <see cref="EvalPlanner"/> for the plan it makes). <see cref="Attacks"/>: the suite; clean is always
/// evaluated first. <see cref="Sources"/>: adaptive and/or agnostic for white-box attacks. <see cref="RunChecks"/>:
/// run the checklist's extra attacks (PGD with 5x steps and 2 restarts, PGD at <see cref="LargeEps"/>, input
/// gradients) on the first <see cref="CheckPoints"/> points. <see cref="EpsSweep"/>: eps values at which
/// <see cref="SweepAttack"/> is run on all points for the accuracy vs eps curve (empty = no sweep).
/// <see cref="Surrogates"/>: names of surrogate models (given to the <see cref="RobustnessEvaluator"/>) from which every
/// white-box attack of the suite is also transferred. <see cref="Data"/>/<see cref="Split"/> only label the report.
/// </summary>
public sealed record EvaluationOptions
{
    public required ThreatModel Threat { get; init; }

    public IReadOnlyList<AttackSpec> Attacks { get; init; } = [new CleanSpec(), new FgsmSpec(false), new PgdSpec(10)];

    public IReadOnlyList<AttackSource> Sources { get; init; } = [AttackSource.Adaptive];

    /// <summary>
    /// Surrogate names: each is a transfer source "transfer:NAME" and, when there are two or more, so is their ensemble
    /// ("transfer:ensemble", the loss on their averaged logits). Empty: no transfer attacks.
    /// </summary>
    public IReadOnlyList<string> Surrogates { get; init; } = [];

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
        if (Surrogates.Count > 0 && !Attacks.Any(a => a.IsWhiteBox))
            throw new ArgumentException($"transfer attacks (--surrogate) need a white-box attack in the suite (e.g. pgd10); " +
                                        $"{string.Join(",", Attacks)} has none");
        if (Surrogates.FirstOrDefault(s => string.IsNullOrWhiteSpace(s) || s.Contains('/')) is { } bad)
            throw new ArgumentException($"bad surrogate name '{bad}'");
        if (Surrogates.GroupBy(s => s).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ArgumentException($"two surrogates are both named '{twice.Key}' (rename one file)");
        if (Surrogates.Count > 1 && Surrogates.Contains(Models.SurrogateEnsemble.SourceName))
            throw new ArgumentException($"a surrogate is named '{Models.SurrogateEnsemble.SourceName}', the name of the surrogates' ensemble (rename its file)");
    }
}
