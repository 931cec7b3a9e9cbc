using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// Runs an ordered list of attacks over a data set in batches: each adversarial batch is generated on the
/// GENERATING view (f_P = adaptive, f_0 = prompt-agnostic), checked against the threat model, and scored on
/// the SCORING view. Reports per-attack and pointwise worst-case accuracy with per-point flags, and can
/// resume from an earlier (partial) result by skipping the attacks already done.
/// </summary>
public sealed class AttackSuite
{
    public AttackSuite(ThreatModel threat, IEnumerable<SuiteEntry> entries, int batchSize = 256)
    {
        Threat = threat;
        Entries = entries.ToList();
        BatchSize = batchSize > 0 ? batchSize : throw new ArgumentException("batch size must be positive");
        foreach (var e in Entries)
            if (e.Attack.Threat != threat)
                throw new ArgumentException($"attack '{e.Attack.Name}' uses {e.Attack.Threat}, the suite uses {threat}");
        if (Entries.Select(e => e.Attack.Name).Distinct().Count() != Entries.Count)
            throw new ArgumentException("attack names in a suite must be unique");
    }

    public ThreatModel Threat { get; }

    public IReadOnlyList<SuiteEntry> Entries { get; }

    public int BatchSize { get; }

    /// <summary>Builds a suite from a comma-separated preset list (see <see cref="AttackPresets"/>).</summary>
    public static AttackSuite Parse(ThreatModel threat, string spec, long seed = 0, bool cascade = false, int batchSize = 256) =>
        new(threat, AttackPresets.ParseList(spec, threat, seed).Select(a => new SuiteEntry(a, cascade)), batchSize);

    /// <param name="resume">An earlier result of the same suite on the same data: its completed stages are reused.</param>
    /// <param name="onStage">Called after each attack with the partial result (e.g. to save flags for resuming).</param>
    public SuiteResult Run(ModelView generating, ModelView scoring, Tensor images, Tensor labels,
        SuiteResult? resume = null, Action<SuiteResult>? onStage = null, Action<string>? log = null)
    {
        using var scope = NewDisposeScope();
        var clean = images.detach();
        var n = (int)clean.shape[0];
        if (labels.shape[0] != n)
            throw new ArgumentException("images and labels differ in count");
        if (resume is not null && (resume.Count != n || resume.Threat != Threat))
            throw new ArgumentException("the result to resume from was computed on other data or another threat model");

        var cleanCorrect = Predict(scoring, clean).eq(labels);
        var cleanFlags = TensorOps.ToBools(cleanCorrect);
        if (resume is not null && !resume.CleanCorrect.SequenceEqual(cleanFlags))
            throw new ArgumentException("the result to resume from disagrees with the model's clean predictions");
        var robust = cleanCorrect.clone();
        var stages = new List<AttackStageResult>();
        for (var i = 0; i < Entries.Count; i++)
        {
            var entry = Entries[i];
            AttackStageResult stage;
            var previous = resume is not null && i < resume.Stages.Count ? resume.Stages[i] : null;
            if (previous is not null && previous.Name == entry.Attack.Name && previous.Cascade == entry.Cascade)
            {
                log?.Invoke($"{entry.Attack.Name}: reused from the saved result");
                using var fooled = tensor(previous.Fooled, device: clean.device);
                robust.logical_and_(fooled.logical_not());
                stage = previous with { RobustAfter = TensorOps.ToBools(robust) };
            }
            else
            {
                stage = SuiteRunner.RunStage(entry.Attack, Threat, generating, scoring, clean, labels,
                    entry.Cascade ? robust : cleanCorrect, robust, null, n, BatchSize, entry.Cascade, log);
            }
            stages.Add(stage);
            onStage?.Invoke(Result(generating, scoring, n, cleanFlags, stages, robust));
        }
        return Result(generating, scoring, n, cleanFlags, stages, robust);
    }

    private SuiteResult Result(ModelView generating, ModelView scoring, int n, bool[] cleanFlags,
        List<AttackStageResult> stages, Tensor robust)
    {
        var worst = TensorOps.ToBools(robust);
        return new SuiteResult(Threat, generating.Name, scoring.Name, n, cleanFlags,
            n == 0 ? 0.0 : cleanFlags.Count(c => c) / (double)n, stages.ToList(), worst,
            n == 0 ? 0.0 : worst.Count(r => r) / (double)n);
    }

    private Tensor Predict(ModelView model, Tensor x)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var parts = new List<Tensor>();
        for (long start = 0; start < x.shape[0]; start += BatchSize)
            parts.Add(model.Forward(x.slice(0, start, Math.Min(start + BatchSize, x.shape[0]), 1)).argmax(1));
        var pred = parts.Count == 0 ? zeros(0, dtype: ScalarType.Int64, device: x.device) : cat(parts, 0);
        return pred.MoveToOuterDisposeScope();
    }
}
