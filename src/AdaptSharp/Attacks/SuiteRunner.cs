using System.Diagnostics;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>Runs one stage of a standalone <see cref="AutoAttack"/> over its points in batches and scores it.</summary>
internal static class SuiteRunner
{
    /// <param name="attackMask">(N) bool: points to attack (read before anything is updated).</param>
    /// <param name="robust">(N) bool worst-case flags, cleared in place for every point the attack breaks.</param>
    /// <param name="adv">(N,...) adversarial images, overwritten in place where the attack succeeds (may be null).</param>
    public static AttackStageResult RunStage(Attack attack, ThreatModel threat, ModelView generating, ModelView scoring,
        Tensor clean, Tensor labels, Tensor attackMask, Tensor robust, Tensor? adv, int n, int batchSize, bool cascade,
        Action<string>? log)
    {
        if (attack.Threat != threat)
            throw new ArgumentException($"attack '{attack.Name}' uses {attack.Threat}, the evaluation uses {threat}");
        using var scope = NewDisposeScope();
        var watch = Stopwatch.StartNew();
        var gradBefore = attack.GradientEvaluations;
        var queriesBefore = attack.Queries;
        var attacked = attackMask.clone();
        var fooled = zeros(n, dtype: ScalarType.Bool, device: clean.device);
        var idxAll = TensorOps.Indices(attacked);
        var total = idxAll.shape[0];
        var maxNorm = 0.0;
        for (long start = 0; start < total; start += batchSize)
        {
            using var batchScope = NewDisposeScope();
            var idx = idxAll.slice(0, start, Math.Min(start + batchSize, total), 1);
            var x = clean.index_select(0, idx);
            var y = labels.index_select(0, idx);
            var a = attack.Perturb(generating, x, y);
            maxNorm = Math.Max(maxNorm, threat.Validate(a, x));
            Tensor broken;
            using (no_grad())
                broken = scoring.Forward(a).argmax(1).ne(y);
            var brokenIdx = idx.index_select(0, TensorOps.Indices(broken));
            fooled.index_fill_(0, brokenIdx, true);
            robust.index_fill_(0, brokenIdx, false);
            adv?.index_copy_(0, brokenIdx, a.index_select(0, TensorOps.Indices(broken)));
            log?.Invoke($"{attack.Name}: {Math.Min(start + batchSize, total)}/{total} points attacked");
        }
        watch.Stop();
        var attackedFlags = TensorOps.ToBools(attacked);
        var fooledFlags = TensorOps.ToBools(fooled);
        var robustFlags = TensorOps.ToBools(robust);
        var cumulative = n == 0 ? 0.0 : robustFlags.Count(r => r) / (double)n;
        var own = n == 0 ? 0.0 : attackedFlags.Zip(fooledFlags, (at, f) => at && !f).Count(b => b) / (double)n;
        return new AttackStageResult(attack.Name, cascade, attack.Seed, attackedFlags, fooledFlags, robustFlags,
            cascade ? cumulative : own, cumulative, maxNorm, watch.Elapsed,
            attack.GradientEvaluations - gradBefore, attack.Queries - queriesBefore);
    }
}
