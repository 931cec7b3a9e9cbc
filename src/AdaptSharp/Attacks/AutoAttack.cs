using System.Diagnostics;
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
        Options = options ?? new AutoAttackOptions();
        if (Options.BatchSize < 1)
            throw new ArgumentException("batch size must be positive");
        if (Options.Version != AutoAttackVersion.Custom)
            Stages = StandardStages(Options.Version, threat, seed);
        else if (Options.CustomStages is not { Count: > 0 } custom)
            throw new ArgumentException("a custom AutoAttack needs at least one attack");
        else if (custom.Any(a => a.Threat != threat))
            throw new ArgumentException("every attack of a custom AutoAttack must use the same threat model");
        else
            Stages = custom;
    }

    public AutoAttackOptions Options { get; }

    public IReadOnlyList<Attack> Stages { get; }

    private static string DefaultName(AutoAttackVersion version) =>
        version == AutoAttackVersion.Custom ? "autoattack-custom" : new AutoAttackSpec(version).ToString();

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

        var robust = n == 0
            ? zeros(0, dtype: ScalarType.Bool, device: clean.device)
            : cat(Batches(n).Select(b => Classify(scoring, clean[b]).eq(labels[b])).ToList(), 0);
        var adv = clean.clone();
        var cleanFlags = TensorOps.ToBools(robust);

        var randomized = CheckRandomized(generating, clean) || (!ReferenceEquals(generating, scoring) && CheckRandomized(scoring, clean));
        if (randomized && Options.Version != AutoAttackVersion.Rand)
            warnings.Add("the model's output is randomised (two forwards differ): use version 'rand' (EOT)");
        var zeroGrad = Batches(n).Sum(b => ZeroGradients(generating, clean[b], labels[b]));
        if (zeroGrad > 0)
            warnings.Add($"{zeroGrad} point(s) have an exactly zero input gradient: gradient masking is likely, white-box attacks are unreliable there");

        var stages = new List<AttackStageResult>();
        var whiteBoxSeen = false;
        var blackBoxOnly = 0;
        foreach (var attack in Stages)
        {
            var stage = RunStage(attack, generating, scoring, clean, labels, robust, adv, n);
            stages.Add(stage);
            if (attack is not (Square or Rays))
            {
                whiteBoxSeen = true;
            }
            else if (whiteBoxSeen && stage.FooledCount > 0)
            {
                blackBoxOnly += stage.FooledCount;
                warnings.Add($"black-box attack '{attack.Name}' broke {stage.FooledCount} point(s) the white-box attacks missed: possible gradient masking");
            }
        }

        var robustFlags = TensorOps.ToBools(robust);
        var result = new AutoAttackResult(Options.Version, Threat, Seed, generating.Name, scoring.Name, n, cleanFlags,
            Fraction(cleanFlags), stages, robustFlags, Fraction(robustFlags), randomized, zeroGrad, blackBoxOnly, warnings);
        GradientEvaluations += stages.Sum(s => s.GradientEvaluations);
        Queries += stages.Sum(s => s.Queries);
        return (result, adv.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Runs <paramref name="attack"/> in batches on the points flagged in <paramref name="robust"/>, always from the clean
    /// image, and clears <paramref name="robust"/> / overwrites <paramref name="adv"/> in place where it succeeds.
    /// </summary>
    private AttackStageResult RunStage(Attack attack, ModelView generating, ModelView scoring, Tensor clean,
        Tensor labels, Tensor robust, Tensor adv, int n)
    {
        using var scope = NewDisposeScope();
        var watch = Stopwatch.StartNew();
        var (gradBefore, queriesBefore) = (attack.GradientEvaluations, attack.Queries);
        var attacked = TensorOps.ToBools(robust);
        var fooled = zeros(n, dtype: ScalarType.Bool, device: clean.device);
        var idxAll = TensorOps.Indices(robust);
        var total = idxAll.shape[0];
        var maxNorm = 0.0;
        for (long start = 0; start < total; start += Options.BatchSize)
        {
            using var batchScope = NewDisposeScope();
            var idx = idxAll.slice(0, start, Math.Min(start + Options.BatchSize, total), 1);
            var x = clean.index_select(0, idx);
            var y = labels.index_select(0, idx);
            var a = attack.Perturb(generating, x, y);
            maxNorm = Math.Max(maxNorm, Threat.Validate(a, x));
            var broken = TensorOps.Indices(Classify(scoring, a).ne(y));
            var brokenIdx = idx.index_select(0, broken);
            fooled.index_fill_(0, brokenIdx, true);
            robust.index_fill_(0, brokenIdx, false);
            adv.index_copy_(0, brokenIdx, a.index_select(0, broken));
        }
        var robustFlags = TensorOps.ToBools(robust);
        return new AttackStageResult(attack.Name, attacked, TensorOps.ToBools(fooled), robustFlags, Fraction(robustFlags),
            maxNorm, watch.Elapsed, attack.GradientEvaluations - gradBefore, attack.Queries - queriesBefore);
    }

    private static double Fraction(bool[] flags) => flags.Length == 0 ? 0.0 : flags.Count(b => b) / (double)flags.Length;

    private IEnumerable<TensorIndex> Batches(int n)
    {
        for (long start = 0; start < n; start += Options.BatchSize)
            yield return TensorIndex.Slice(start, Math.Min(start + Options.BatchSize, n));
    }

    private static Tensor Classify(ModelView model, Tensor x)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return model.Forward(x).argmax(1).MoveToOuterDisposeScope();
    }

    private bool CheckRandomized(ModelView model, Tensor x)
    {
        if (x.shape[0] == 0)
            return false;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var sample = x.slice(0, 0, Math.Min(x.shape[0], Options.BatchSize), 1);
        return (model.Forward(sample) - model.Forward(sample)).abs().max().ToDouble() > 0;
    }

    private int ZeroGradients(ModelView model, Tensor x, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var (_, grad, _) = LossAndGradient(model, x, labels, Losses.CrossEntropy);
        return (int)grad.flatten(1).abs().amax(1).eq(0).sum().ToInt64();
    }
}
