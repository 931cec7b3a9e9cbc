using AdaptSharp.Evaluation;
using AdaptSharp.Models;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// AutoAttack (Croce &amp; Hein 2020): a cascade in which each attack runs only on the points still robust,
/// always from the clean image; clean-misclassified points count as broken and are never attacked.
/// Generation uses one view and success is scored on another (the same one for a plain run), so the
/// prompt-agnostic transfer setting is the same code. As an <see cref="Attack"/>, <see cref="Perturb"/>
/// runs the cascade on one view and returns the adversarial images (clean images where nothing worked).
/// </summary>
public sealed class AutoAttack(ThreatModel threat, AutoAttackOptions? options = null, long seed = 0, string? name = null)
    : Attack(name ?? DefaultName((options ?? new AutoAttackOptions()).Version), threat, seed)
{
    public AutoAttackOptions Options { get; } = Checked(options ?? new(), o => o.BatchSize >= 1, "batch size must be positive");

    public IReadOnlyList<Attack> Stages { get; } = options?.Version == AutoAttackVersion.Custom
        ? Checked(options.CustomStages ?? [], s => s.Count > 0 && s.All(a => a.Threat == threat), "a custom AutoAttack needs at least one attack, all under its threat model")
        : StandardStages(options?.Version ?? AutoAttackVersion.Standard, threat, seed);

    private static string DefaultName(AutoAttackVersion version) =>
        version == AutoAttackVersion.Custom ? "autoattack-custom" : new AutoAttackSpec(version).ToString();

    /// <summary>The attack lists of the standard, plus and rand versions (AutoAttack's settings).</summary>
    public static IReadOnlyList<Attack> StandardStages(AutoAttackVersion version, ThreatModel threat, long seed) => version switch
    {
        AutoAttackVersion.Standard => new Attack[]
        {
            new Apgd(threat, new ApgdOptions(), seed),
            new Apgd(threat, new ApgdOptions(TargetClasses: 9), seed),
            new Fab(threat, new FabOptions(TargetClasses: 9), seed),
            new Square(threat, new SquareOptions(), seed),
        },
        AutoAttackVersion.Plus => new Attack[]
        {
            new Apgd(threat, new ApgdOptions(Restarts: 5), seed),
            new Apgd(threat, new ApgdOptions(Restarts: 5, Loss: Losses.Dlr), seed, "apgd-dlr"),
            new Fab(threat, new FabOptions(Restarts: 5), seed),
            new Square(threat, new SquareOptions(), seed),
            new Apgd(threat, new ApgdOptions(TargetClasses: 9), seed),
            new Fab(threat, new FabOptions(TargetClasses: 9), seed),
        },
        AutoAttackVersion.Rand => new Attack[]
        {
            new Apgd(threat, new ApgdOptions(EotIterations: 20), seed),
            new Apgd(threat, new ApgdOptions(Loss: Losses.Dlr, EotIterations: 20), seed, "apgd-dlr"),
        },
        _ => throw new ArgumentException("the custom version has no preset attack list"),
    };

    public override Tensor Perturb(ModelView model, Tensor images, Tensor labels) => Run(model, model, images, labels).Adversarial;

    /// <summary>
    /// Runs the cascade: generate on <paramref name="generating"/>, score on <paramref name="scoring"/>; cancellation is
    /// honoured between batches.
    /// </summary>
    public AutoAttackResult Evaluate(ModelView generating, ModelView scoring, Tensor images, Tensor labels, CancellationToken cancellationToken = default) =>
        Cascade(generating, scoring, images, labels, null, cancellationToken);

    /// <summary>As <see cref="Evaluate"/>, also returning the adversarial images (caller's scope; clean where nothing worked).</summary>
    public (AutoAttackResult Result, Tensor Adversarial) Run(ModelView generating, ModelView scoring, Tensor images, Tensor labels,
        CancellationToken cancellationToken = default)
    {
        var adv = images.detach().clone();
        var result = Cascade(generating, scoring, images, labels, (points, rows) => adv.index_copy_(0, points.to(adv.device), rows.to(adv.dtype)),
            cancellationToken);
        return (result, adv);
    }

    /// <summary>
    /// The cascade as a plan of its stages, run by the evaluation engine (<see cref="PlanExecutor"/>) in fixed windows of
    /// <see cref="AutoAttackOptions.BatchSize"/> points: a preset version's stage specs with the engine's per-batch seeds
    /// (the flags <c>adapt eval</c> gives for the same seed and batch size), a custom version's attacks as given.
    /// </summary>
    private AutoAttackResult Cascade(ModelView generating, ModelView scoring, Tensor images, Tensor labels, Action<Tensor, Tensor>? broken,
        CancellationToken cancellationToken)
    {
        using var scope = NewDisposeScope();
        var n = checked((int)images.shape[0]);
        var runs = new List<PlanRun>();
        PlanRun Column(AttackSpec spec) => new(EvalPlanner.ColumnKey(spec, AttackSource.Adaptive), spec, AttackSource.Adaptive, Threat, n, RunRole.Column)
        {
            SeedKey = spec.ToString(),
        };
        EvalPlan.Add(runs, Column(new CleanSpec()));
        var cascade = Column(new AutoAttackSpec(Options.Version == AutoAttackVersion.Custom ? AutoAttackVersion.Standard : Options.Version));
        EvalPlan.AddStages(runs, cascade, Options.Version == AutoAttackVersion.Custom
            ? Stages.Select((a, i) => ($"{i + 1}:{a.Name}", (AttackSpec)new AttackInstanceSpec(a)))
            : new AutoAttackSpec(Options.Version).Stages.Select(s => (s.StageName, (AttackSpec)s)));
        var state = new PlanState(new EvalPlan(runs), n);
        var executor = new PlanExecutor(scoring, _ => generating, images.device, Options.BatchSize, Seed);
        foreach (var run in runs)
            executor.Execute(run, state, images, labels, () => { }, cancellationToken, broken);

        var cleanFlags = Robust(state.Flags[EvalPlan.CleanKey]);
        var stages = new List<AttackStageResult>();
        var attacked = cleanFlags;
        foreach (var (run, attack) in runs.Skip(1).Zip(Stages))
        {
            var robustAfter = Robust(state.Flags[run.Key]);
            var record = state.Record(run);
            stages.Add(new AttackStageResult(attack.Name, attacked, attacked.Zip(robustAfter, (a, r) => a && !r).ToArray(), robustAfter,
                Fraction(robustAfter), record.MaxPerturbation, TimeSpan.FromSeconds(record.Seconds), record.GradientEvaluations, record.Queries));
            attacked = robustAfter;
        }
        GradientEvaluations += stages.Sum(s => s.GradientEvaluations);
        Queries += stages.Sum(s => s.Queries);

        // The diagnostics are the checklist's: gradient statistics (item 6) on the generating view, black-box-only breaks (item 3).
        cancellationToken.ThrowIfCancellationRequested();
        var gradients = executor.MeasureGradients(generating, images, labels, n, n);
        var blackBox = MaskingChecklist.BlackBoxStages(runs.Skip(1).Select(state.Record).ToList()).ToList();
        var warnings = new List<string>();
        if (gradients.RandomizedOutput && Options.Version != AutoAttackVersion.Rand)
            warnings.Add("the model's output is randomised (two forwards differ): use version 'rand' (EOT)");
        if (gradients.ZeroGradientPoints > 0)
            warnings.Add($"{gradients.ZeroGradientPoints} point(s) have an exactly zero input gradient: gradient masking is likely, white-box attacks are unreliable there");
        foreach (var (before, stage) in blackBox.Where(p => p.Before.Robust > p.Stage.Robust))
            warnings.Add($"black-box attack '{stage.Attack}' broke {before.Robust - stage.Robust} point(s) the white-box stages missed: possible gradient masking");
        return new AutoAttackResult(Options.Version, Threat, Seed, generating.Name, scoring.Name, n, cleanFlags, Fraction(cleanFlags), stages,
            attacked, Fraction(attacked), gradients.RandomizedOutput, gradients.ZeroGradientPoints, blackBox.Sum(p => p.Before.Robust - p.Stage.Robust),
            warnings);
    }

    private static bool[] Robust(sbyte[] flags) => flags.Select(f => f == 1).ToArray();

    private static double Fraction(bool[] flags) => flags.Length == 0 ? 0.0 : flags.Count(b => b) / (double)flags.Length;
}
