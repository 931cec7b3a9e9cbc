using AdaptSharp.Attacks;

namespace AdaptSharp.Evaluation;

/// <summary>
/// The result of a robustness evaluation of one model (serialised as report.json). <see cref="Attacks"/> are
/// the suite columns in order (the columns of flags.npy). <see cref="RobustAccuracy"/> is the pointwise worst
/// case over the whole suite. A report with <see cref="Complete"/> false is a resumable partial state.
/// </summary>
public sealed record RobustnessReport
{
    /// <summary>2: runs by key with per-run flags (flags.npy's columns are <see cref="Runs"/>).</summary>
    public const int CurrentFormat = 2;

    public int FormatVersion { get; init; } = CurrentFormat;

    public required string Model { get; init; }

    /// <summary>SHA-256 of the weights without the prompts (see <see cref="ModelFingerprint"/>).</summary>
    public required string ModelFingerprint { get; init; }

    /// <summary>SHA-256 of the prompt tokens; null for a model without prompts.</summary>
    public string? PromptFingerprint { get; init; }

    public string Prompts { get; init; } = "none";

    public string Data { get; init; } = "";

    public string Split { get; init; } = "test";

    /// <summary>Number of evaluation points.</summary>
    public int N { get; init; }

    public long Seed { get; init; }

    public required ThreatModel Threat { get; init; }

    public int BatchSize { get; init; }

    /// <summary>The surrogates of the transfer columns (in order; their ensemble is not listed); empty without transfer.</summary>
    public IReadOnlyList<SurrogateIdentity> Surrogates { get; init; } = [];

    public IReadOnlyList<AttackResult> Attacks { get; init; } = [];

    public double CleanAccuracy { get; init; }

    /// <summary>Fraction of points robust to every column of the suite.</summary>
    public double RobustAccuracy { get; init; }

    /// <summary>Prompt-agnostic minus adaptive robust accuracy per attack run from both sources.</summary>
    public IReadOnlyList<SourceGap> SourceGaps { get; init; } = [];

    public IReadOnlyList<CheckResult> Checklist { get; init; } = [];

    /// <summary>Extra subset runs the checklist made (PGD convergence, large eps): the finished checklist runs of <see cref="Runs"/>.</summary>
    public IReadOnlyList<SubsetRun> CheckRuns =>
    [
        .. Runs.Where(r => r.Role == RunRole.Check && r.Done == r.Points)
            .Select(r => new SubsetRun(r.Purpose!, r.Attack, r.Source, r.Threat, r.Points, r.Robust, r.MaxPerturbation, r.Seconds)),
    ];

    public GradientStatistics? Gradients { get; init; }

    /// <summary>The finished eps-sweep runs of <see cref="Runs"/>, by source and eps.</summary>
    public IReadOnlyList<EpsSweepPoint> EpsSweep =>
    [
        .. Runs.Where(r => r.Role == RunRole.Sweep && r.Done == r.Points)
            .Select(r => new EpsSweepPoint(r.Threat.Eps, r.Attack, r.Source, r.Points, r.Robust))
            .OrderBy(p => p.Source).ThenBy(p => p.Eps),
    ];

    /// <summary>Every run of the plan (suite columns first, in order): the columns of flags.npy.</summary>
    public IReadOnlyList<RunRecord> Runs { get; init; } = [];

    /// <summary>"K/N" when this is the state of one shard (its batches only; see <see cref="EvaluationOptions.Shard"/>); null otherwise.</summary>
    public string? Shard { get; init; }

    /// <summary>N when this report was merged from N shards by <see cref="Cluster.ShardMerger"/>; null otherwise.</summary>
    public int? MergedShards { get; init; }

    public bool Complete { get; init; }

    public string CreatedUtc { get; init; } = "";

    public double TotalSeconds { get; init; }

    /// <summary>
    /// What two states of one evaluation must share (resumed or merged): each setting with whether <paramref name="other"/>
    /// has the same, this report's value and the other's.
    /// </summary>
    internal IEnumerable<(string What, bool Same, string Value, string Other)> Settings(RobustnessReport other)
    {
        static (string, bool, string, string) Setting(string what, object? value, object? other) =>
            (what, Equals(value, other), value?.ToString() ?? "none", other?.ToString() ?? "none");
        yield return Setting("report format", FormatVersion, other.FormatVersion);
        yield return Setting("model (backbone fingerprint)", ModelFingerprint, other.ModelFingerprint);
        yield return Setting("prompts (prompt fingerprint)", PromptFingerprint, other.PromptFingerprint);
        yield return Setting("prompt layout", Prompts, other.Prompts);
        yield return Setting("data", $"{Data} ({Split})", $"{other.Data} ({other.Split})");
        yield return Setting("number of points", N, other.N);
        yield return Setting("seed", Seed, other.Seed);
        yield return Setting("threat model", Threat, other.Threat);
        yield return Setting("batch size", BatchSize, other.BatchSize);
        yield return ("list of surrogates", Surrogates.SequenceEqual(other.Surrogates), SurrogateIdentity.Describe(Surrogates),
            SurrogateIdentity.Describe(other.Surrogates));
    }

    /// <summary>Robust accuracy of a column over all the report's points; null when the suite lacks it or has not finished it.</summary>
    internal double? Accuracy(AttackSpec attack, AttackSource source) => Find(attack.ToString(), source) is { } a && a.PointsDone == N ? a.RobustAccuracy : null;

    /// <summary>The result of a column (a transfer column: from <paramref name="surrogate"/>), or null when the suite does not have it.</summary>
    public AttackResult? Find(string attack, AttackSource source, string? surrogate = null) =>
        Attacks.FirstOrDefault(a => a.Name == attack && a.Source == source && a.Surrogate == surrogate);
}
