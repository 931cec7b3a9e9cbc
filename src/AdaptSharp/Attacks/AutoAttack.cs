using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// AutoAttack (Croce &amp; Hein 2020): a cascade in which each attack runs only on the points still robust,
/// always from the clean image; clean-misclassified points count as broken and are never attacked.
/// Generation uses one view and success is scored on another (the same one for a plain run), so the
/// prompt-agnostic transfer setting is the same code. As an <see cref="Attack"/>, <see cref="Perturb"/>
/// runs the cascade on one view and returns the adversarial images (clean images where nothing worked).
/// </summary>
public sealed class AutoAttack : Attack
{
    public AutoAttack(ThreatModel threat, AutoAttackOptions? options = null, long seed = 0, string? name = null)
        : base(name ?? DefaultName((options ?? new AutoAttackOptions()).Version), threat, seed)
    {
        var o = options ?? new AutoAttackOptions();
        var (version, custom) = (o.Version, o.CustomStages);
        Version = version;
        BatchSize = o.BatchSize > 0 ? o.BatchSize : throw new ArgumentException("batch size must be positive");
        if (version == AutoAttackVersion.Custom)
        {
            if (custom is null || custom.Count == 0)
                throw new ArgumentException("a custom AutoAttack needs at least one attack");
            if (custom.Any(a => a.Threat != threat))
                throw new ArgumentException("every attack of a custom AutoAttack must use the same threat model");
            Stages = custom;
        }
        else
        {
            Stages = StandardStages(version, threat, seed);
        }
    }

    public AutoAttackVersion Version { get; }

    public int BatchSize { get; }

    public IReadOnlyList<Attack> Stages { get; }

    /// <summary>Optional progress sink (one line per attacked batch).</summary>
    public Action<string>? Log { get; set; }

    /// <summary>Names of black-box (score- or decision-based) attacks, for the gradient-masking check.</summary>
    public static bool IsBlackBox(Attack attack) => attack is Square or Rays;

    private static string DefaultName(AutoAttackVersion version) => version switch
    {
        AutoAttackVersion.Standard => "autoattack",
        AutoAttackVersion.Plus => "autoattack-plus",
        AutoAttackVersion.Rand => "autoattack-rand",
        _ => "autoattack-custom",
    };

    /// <summary>The attack lists of the standard, plus and rand versions (AutoAttack's settings).</summary>
    public static IReadOnlyList<Attack> StandardStages(AutoAttackVersion version, ThreatModel threat, long seed) => version switch
    {
        AutoAttackVersion.Standard => new Attack[]
        {
            new Apgd(threat, new ApgdOptions(100, 1, ApgdLoss.CrossEntropy), seed, "apgd-ce"),
            new ApgdTargeted(threat, new ApgdTargetedOptions(), seed),
            new FabTargeted(threat, new FabOptions(), seed),
            new Square(threat, new SquareOptions(), seed),
        },
        AutoAttackVersion.Plus => new Attack[]
        {
            new Apgd(threat, new ApgdOptions(100, 5, ApgdLoss.CrossEntropy), seed, "apgd-ce"),
            new Apgd(threat, new ApgdOptions(100, 5, ApgdLoss.Dlr), seed, "apgd-dlr"),
            new Fab(threat, new FabOptions(Restarts: 5), seed),
            new Square(threat, new SquareOptions(), seed),
            new ApgdTargeted(threat, new ApgdTargetedOptions(), seed),
            new FabTargeted(threat, new FabOptions(), seed),
        },
        AutoAttackVersion.Rand => new Attack[]
        {
            new Apgd(threat, new ApgdOptions(100, 1, ApgdLoss.CrossEntropy, EotIterations: 20), seed, "apgd-ce"),
            new Apgd(threat, new ApgdOptions(100, 1, ApgdLoss.Dlr, EotIterations: 20), seed, "apgd-dlr"),
        },
        _ => throw new ArgumentException("the custom version has no preset attack list"),
    };

    public override Tensor Perturb(ModelView model, Tensor images, Tensor labels)
    {
        var (_, adv) = Run(model, model, images, labels);
        return adv;
    }

    /// <summary>Runs the cascade: generate on <paramref name="generating"/>, score on <paramref name="scoring"/>.</summary>
    public AutoAttackResult Evaluate(ModelView generating, ModelView scoring, Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        return Run(generating, scoring, images, labels).Result;
    }

    /// <summary>As <see cref="Evaluate"/>, also returning the adversarial images (caller's scope).</summary>
    public (AutoAttackResult Result, Tensor Adversarial) Run(ModelView generating, ModelView scoring, Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var clean = images.detach();
        var n = (int)clean.shape[0];
        var warnings = new List<string>();

        var cleanCorrect = BatchedPredict(scoring, clean).eq(labels);
        var robust = cleanCorrect.clone();
        var adv = clean.clone();
        var cleanFlags = TensorOps.ToBools(cleanCorrect);
        var cleanAccuracy = n == 0 ? 0.0 : cleanFlags.Count(b => b) / (double)n;

        var randomized = CheckRandomized(generating, clean) || (!ReferenceEquals(generating, scoring) && CheckRandomized(scoring, clean));
        if (randomized && Version != AutoAttackVersion.Rand)
            warnings.Add("the model's output is randomised (two forwards differ): use version 'rand' (EOT)");
        var zeroGrad = CountZeroGradients(generating, clean, labels);
        if (zeroGrad > 0)
            warnings.Add($"{zeroGrad} point(s) have an exactly zero input gradient: gradient masking is likely, white-box attacks are unreliable there");

        var stages = new List<AttackStageResult>();
        var whiteBoxSeen = false;
        var blackBoxOnly = 0;
        foreach (var attack in Stages)
        {
            var stage = RunStage(attack, generating, scoring, clean, labels, robust, adv, n, cascade: true);
            stages.Add(stage);
            if (IsBlackBox(attack))
            {
                if (whiteBoxSeen && stage.FooledCount > 0)
                {
                    blackBoxOnly += stage.FooledCount;
                    warnings.Add($"black-box attack '{attack.Name}' broke {stage.FooledCount} point(s) the white-box attacks missed: possible gradient masking");
                }
            }
            else
            {
                whiteBoxSeen = true;
            }
        }

        var robustFlags = TensorOps.ToBools(robust);
        var result = new AutoAttackResult(Version, Threat, Seed, generating.Name, scoring.Name, n, cleanFlags,
            cleanAccuracy, stages, robustFlags, n == 0 ? 0.0 : robustFlags.Count(b => b) / (double)n,
            randomized, zeroGrad, blackBoxOnly, warnings);
        GradientEvaluations += stages.Sum(s => s.GradientEvaluations);
        Queries += stages.Sum(s => s.Queries);
        return (result, adv.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Runs <paramref name="attack"/> in batches on the points flagged in <paramref name="robust"/> (if
    /// <paramref name="cascade"/>) and updates <paramref name="robust"/> and <paramref name="adv"/> in place.
    /// </summary>
    internal AttackStageResult RunStage(Attack attack, ModelView generating, ModelView scoring, Tensor clean,
        Tensor labels, Tensor robust, Tensor adv, int n, bool cascade) =>
        SuiteRunner.RunStage(attack, Threat, generating, scoring, clean, labels, robust, robust, adv, n, BatchSize, cascade, Log);

    private Tensor BatchedPredict(ModelView model, Tensor x)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var parts = new List<Tensor>();
        for (long start = 0; start < x.shape[0]; start += BatchSize)
            parts.Add(model.Forward(x.slice(0, start, Math.Min(start + BatchSize, x.shape[0]), 1)).argmax(1));
        var pred = parts.Count == 0 ? zeros(0, dtype: ScalarType.Int64, device: x.device) : cat(parts, 0);
        return pred.MoveToOuterDisposeScope();
    }

    private bool CheckRandomized(ModelView model, Tensor x)
    {
        if (x.shape[0] == 0)
            return false;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var sample = x.slice(0, 0, Math.Min(x.shape[0], BatchSize), 1);
        var a = model.Forward(sample);
        var b = model.Forward(sample);
        return (a - b).abs().max().ToDouble() > 0;
    }

    private int CountZeroGradients(ModelView model, Tensor x, Tensor labels)
    {
        if (x.shape[0] == 0)
            return 0;
        using var scope = NewDisposeScope();
        var count = 0;
        for (long start = 0; start < x.shape[0]; start += BatchSize)
        {
            using var batchScope = NewDisposeScope();
            var end = Math.Min(start + BatchSize, x.shape[0]);
            var (_, grad, _) = LossAndGradient(model, x.slice(0, start, end, 1), labels.slice(0, start, end, 1), Losses.CrossEntropy);
            count += (int)grad.flatten(1).abs().amax(1).eq(0).sum().ToInt64();
        }
        return count;
    }
}
