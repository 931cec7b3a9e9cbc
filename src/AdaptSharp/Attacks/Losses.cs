using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AdaptSharp.Attacks;

/// <summary>
/// Per-sample attack losses: each maps (logits (N,K), labels (N)) to a loss (N) that an untargeted attack
/// MAXIMISES. All work on raw logits.
/// </summary>
internal static class Losses
{
    /// <summary>
    /// Default CW confidence: the loss stops growing (zero gradient) once a point is misclassified by 10.
    /// Standard CW; the paper's code instead floors the loss at -10, i.e. ignores points classified
    /// correctly by a margin above 10 (docs/evaluation.md).
    /// </summary>
    public const double CwKappa = 10.0;

    /// <summary>Cross-entropy per sample.</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels) =>
        F.cross_entropy(logits, labels, reduction: nn.Reduction.None);

    /// <summary>CW margin z_y - max_{i != y} z_i per sample (positive = correctly classified).</summary>
    public static Tensor Margin(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var correct = logits.gather(1, labels.unsqueeze(1)).squeeze(1);
        var others = logits.masked_fill(F.one_hot(labels, logits.shape[1]).to_type(ScalarType.Bool), double.NegativeInfinity);
        return (correct - others.amax(1)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// CW loss to maximise: -clamp(z_y - max_{i != y} z_i, min: -kappa) = min(max_{i!=y} z_i - z_y, kappa).
    /// It grows while the margin falls and stops (zero gradient) once the point is misclassified with
    /// confidence kappa (kappa = 10 by default, the paper's CW-inf setting). Confidently correct points keep their
    /// full gradient. Use <see cref="double.PositiveInfinity"/> for no floor.
    /// </summary>
    public static Tensor CwLoss(Tensor logits, Tensor labels, double kappa = CwKappa)
    {
        using var scope = NewDisposeScope();
        var m = Margin(logits, labels);
        if (!double.IsPositiveInfinity(kappa))
            m = m.clamp_min(-kappa);
        return (-m).MoveToOuterDisposeScope();
    }

    /// <summary>The CW loss with the given floor, as a delegate.</summary>
    public static Func<Tensor, Tensor, Tensor> Cw(double kappa = CwKappa) => (z, y) => CwLoss(z, y, kappa);

    /// <summary>
    /// DLR loss (Croce &amp; Hein 2020): -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3 + 1e-12), logits sorted
    /// descending. Needs at least 3 classes.
    /// </summary>
    public static Tensor Dlr(Tensor logits, Tensor labels)
    {
        if (logits.shape[1] < 3)
            throw new ArgumentException("the DLR loss needs at least 3 classes");
        using var scope = NewDisposeScope();
        var sorted = logits.sort(1, descending: true).Values;
        var scale = sorted.select(1, 0) - sorted.select(1, 2) + 1e-12;
        return (-Margin(logits, labels) / scale).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Targeted DLR loss: -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4)/2 + 1e-12). Needs at least 4 classes.
    /// </summary>
    public static Tensor TargetedDlr(Tensor logits, Tensor labels, Tensor targets)
    {
        if (logits.shape[1] < 4)
            throw new ArgumentException("the targeted DLR loss needs at least 4 classes");
        using var scope = NewDisposeScope();
        var sorted = logits.sort(1, descending: true).Values;
        var zy = logits.gather(1, labels.unsqueeze(1)).squeeze(1);
        var zt = logits.gather(1, targets.unsqueeze(1)).squeeze(1);
        var scale = sorted.select(1, 0) - (sorted.select(1, 2) + sorted.select(1, 3)) * 0.5 + 1e-12;
        return (-(zy - zt) / scale).MoveToOuterDisposeScope();
    }

    /// <summary>KL(p_clean || p_adv) per sample (TRADES order: clean distribution first).</summary>
    public static Tensor KlPerSample(Tensor cleanLogits, Tensor advLogits)
    {
        using var scope = NewDisposeScope();
        var logPClean = F.log_softmax(cleanLogits, 1);
        var logPAdv = F.log_softmax(advLogits, 1);
        return (logPClean.exp() * (logPClean - logPAdv)).sum(1).MoveToOuterDisposeScope();
    }

    /// <summary>KL(p_clean || p_adv) averaged over the batch (ADAPT-KL / TRADES outer loss).</summary>
    public static Tensor KlBatchMean(Tensor cleanLogits, Tensor advLogits)
    {
        using var scope = NewDisposeScope();
        return KlPerSample(cleanLogits, advLogits).mean().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A per-sample KL loss for PGD's custom-loss hook (labels ignored); the clean logits are captured and
    /// detached, so the TRADES inner maximisation is <c>new Pgd(..., Loss: Losses.Kl(f0(x)))</c>.
    /// </summary>
    public static Func<Tensor, Tensor, Tensor> Kl(Tensor cleanLogits)
    {
        var clean = cleanLogits.detach();
        return (adv, _) => KlPerSample(clean, adv);
    }
}
