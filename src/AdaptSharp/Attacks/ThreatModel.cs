using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// A perturbation ball of radius <see cref="Eps"/> in pixel units ([0,1] images) under
/// <see cref="Norm"/>, intersected with the [0,1] box.
/// </summary>
public sealed record ThreatModel(AttackNorm Norm, double Eps)
{
    /// <summary>Slack allowed by <see cref="Validate"/> for float rounding.</summary>
    public const double Tolerance = 1e-6;

    public static ThreatModel LInf(double eps) => new(AttackNorm.LInf, eps);

    public static ThreatModel L2(double eps) => new(AttackNorm.L2, eps);

    /// <summary>Parses "linf"/"inf"/"l_inf" or "l2" and an eps such as "8/255" or "0.1".</summary>
    public static ThreatModel Parse(string norm, string eps) => new(ParseNorm(norm), ParseEps(eps));

    public static AttackNorm ParseNorm(string norm) => norm.Trim().ToLowerInvariant() switch
    {
        "linf" or "inf" or "l_inf" or "l-inf" => AttackNorm.LInf,
        "l2" or "2" or "l_2" => AttackNorm.L2,
        _ => throw new ArgumentException($"unknown norm '{norm}': expected linf or l2"),
    };

    /// <summary>Parses a decimal number or a fraction "a/b" (e.g. "8/255").</summary>
    public static double ParseEps(string text)
    {
        var parts = text.Trim().Split('/').Select(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN).ToArray();
        var value = parts.Length == 1 ? parts[0] : parts.Length == 2 && parts[1] != 0 ? parts[0] / parts[1] : double.NaN;
        return value >= 0 && double.IsFinite(value)
            ? value
            : throw new ArgumentException($"bad eps '{text}': expected a finite number >= 0 or a fraction like 8/255");
    }

    /// <summary>Per-sample perturbation norms of (adv - clean), shape (N).</summary>
    public Tensor Norms(Tensor adv, Tensor clean)
    {
        using var scope = NewDisposeScope();
        return TensorOps.Norms(adv - clean, Norm).MoveToOuterDisposeScope();
    }

    /// <summary>Projects onto the ball around <paramref name="clean"/>, then onto [0,1].</summary>
    public Tensor Project(Tensor adv, Tensor clean)
    {
        using var scope = NewDisposeScope();
        Tensor inBall;
        if (Norm == AttackNorm.LInf)
        {
            inBall = minimum(maximum(adv, clean - Eps), clean + Eps);
        }
        else
        {
            var delta = adv - clean;
            var factor = (Eps / (TensorOps.L2Norms(delta) + 1e-12)).clamp_max(1.0);
            inBall = clean + delta * TensorOps.PerSample(factor, delta);
        }
        // Clipping to the box moves every coordinate towards the clean value, so it never leaves the ball.
        return inBall.clamp(0.0, 1.0).MoveToOuterDisposeScope();
    }

    /// <summary>A random point in the ball (see <see cref="RandomDelta"/>), in [0,1].</summary>
    internal Tensor RandomStart(Tensor clean, AttackRandom random)
    {
        using var scope = NewDisposeScope();
        return (clean + RandomDelta(clean, random)).clamp(0.0, 1.0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A random displacement of norm at most <paramref name="radiusMultiplier"/> eps: uniform per coordinate for L-inf,
    /// a random direction with a radius uniform in [0, radius] for L2.
    /// </summary>
    internal Tensor RandomDelta(Tensor clean, AttackRandom random, double radiusMultiplier = 1.0)
    {
        var radius = Eps * radiusMultiplier;
        if (Norm == AttackNorm.LInf)
            return random.Uniform(clean, -radius, radius);
        using var scope = NewDisposeScope();
        var direction = TensorOps.NormalizeL2(random.Normal(clean));
        var r = random.Uniform(clean, 0.0, radius, [clean.shape[0]]);
        return (direction * TensorOps.PerSample(r, direction)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Checks an adversarial batch before it is counted: same shape, finite, inside [0,1] and inside the
    /// ball (norm &lt;= eps + 1e-6). Returns the largest perturbation norm in the batch; throws
    /// <see cref="ThreatModelViolationException"/> otherwise.
    /// </summary>
    public double Validate(Tensor adv, Tensor clean)
    {
        if (!adv.shape.SequenceEqual(clean.shape))
            throw new ThreatModelViolationException(
                $"adversarial batch has shape [{string.Join(",", adv.shape)}], clean has [{string.Join(",", clean.shape)}]");
        if (adv.shape[0] == 0)
            return 0.0;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        if (!isfinite(adv).all().item<bool>())
            throw new ThreatModelViolationException("adversarial batch contains NaN or infinite values");
        var min = adv.min().ToDouble();
        var max = adv.max().ToDouble();
        if (min < 0.0 || max > 1.0)
            throw new ThreatModelViolationException($"adversarial batch leaves [0,1]: min {min}, max {max}");
        var largest = Norms(adv, clean).max().ToDouble();
        if (largest > Eps + Tolerance)
            throw new ThreatModelViolationException(
                $"adversarial batch leaves the {Norm} ball: norm {largest:G9} > eps {Eps:G9}");
        return largest;
    }

    public override string ToString() =>
        $"{(Norm == AttackNorm.LInf ? "Linf" : "L2")} eps={Eps.ToString("G6", CultureInfo.InvariantCulture)}";
}
