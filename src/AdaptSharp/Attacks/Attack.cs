using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// Base of every attack. <see cref="Perturb"/> generates adversarial images on the view it is given
/// (adaptive = f_P, prompt-agnostic = f_0); scoring is the caller's business. Attacks use input
/// gradients only (<c>torch.autograd.grad</c>), never weight gradients, and re-seed on every call.
/// </summary>
public abstract class Attack(string name, ThreatModel threat, long seed)
{
    public string Name { get; } = name;

    public ThreatModel Threat { get; } = threat;

    public long Seed { get; } = seed;

    /// <summary>Per-image forward+backward passes so far (one image through one gradient = 1).</summary>
    public long GradientEvaluations { get; protected set; }

    /// <summary>Per-image forward-only passes so far (model queries without gradient).</summary>
    public long Queries { get; protected set; }

    /// <summary>The seeded random source for one <see cref="Perturb"/> call: every call re-seeds with <see cref="Seed"/>.</summary>
    internal AttackRandom NewRandom() => new(Seed);

    /// <summary>
    /// Returns adversarial images (same shape as <paramref name="images"/>, inside the threat model unless
    /// an option explicitly says otherwise) for <paramref name="labels"/> (true labels, or target labels
    /// for attacks configured as targeted). The result belongs to the caller's dispose scope.
    /// </summary>
    public abstract Tensor Perturb(ModelView model, Tensor images, Tensor labels);

    public override string ToString() => $"{Name} ({Threat}, seed {Seed})";

    /// <summary>An attack's settings if they are <paramref name="valid"/>, else an <see cref="ArgumentException"/> with <paramref name="message"/>.</summary>
    private protected static T Checked<T>(T settings, Func<T, bool> valid, string message) =>
        valid(settings) ? settings : throw new ArgumentException(message);

    /// <summary>Per-sample loss, its input gradient and the logits at <paramref name="x"/> (all detached).</summary>
    protected (Tensor Loss, Tensor Grad, Tensor Logits) LossAndGradient(
        ModelView model, Tensor x, Tensor labels, Func<Tensor, Tensor, Tensor> loss)
    {
        var result = model.LossAndInputGradient(x, logits => loss(logits, labels));
        GradientEvaluations += x.shape[0];
        return result;
    }

    /// <summary>Logits without gradient (counted as queries).</summary>
    protected Tensor Logits(ModelView model, Tensor x)
    {
        using var noGrad = no_grad();
        Queries += x.shape[0];
        return model.Forward(x);
    }

    /// <summary>Predicted classes without gradient (counted as queries).</summary>
    protected Tensor Predict(ModelView model, Tensor x)
    {
        using var scope = NewDisposeScope();
        return Logits(model, x).argmax(1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The restart (and target) loop of APGD, APGD-T, FAB, FAB-T and Square: <paramref name="pass"/> runs on the points
    /// still robust (correctly classified and not broken by an earlier pass), always from the clean image,
    /// <paramref name="restarts"/> times, or that many times per target class when <paramref name="targets"/> is positive
    /// (the 2nd..(targets+1)-th highest clean logit). It returns the points it broke and the rows to store for all the
    /// points it got; the result holds the last stored row per point (the clean image where none was).
    /// </summary>
    private protected Tensor OnStillRobust(ModelView model, Tensor images, Tensor labels, int restarts, int targets,
        Func<AttackPass, (Tensor Broken, Tensor Rows)> pass)
    {
        using var scope = NewDisposeScope();
        var clean = images.detach();
        var cleanLogits = Logits(model, clean);
        var ranking = targets > 0 ? cleanLogits.argsort(1, descending: true) : null;
        var robust = cleanLogits.argmax(1).eq(labels);
        var adv = clean.clone();
        var ranks = targets > 0 ? (int)Math.Min(targets + 1, cleanLogits.shape[1]) - 1 : 1;
        for (var k = 0; k < ranks * restarts; k++)
        {
            using var passScope = NewDisposeScope();
            var idx = TensorOps.Indices(robust);
            if (idx.shape[0] == 0)
                break;
            var targetClasses = ranking?.index_select(0, idx).select(1, k / restarts + 1);
            var (broken, rows) = pass(new AttackPass(idx, clean.index_select(0, idx), labels.index_select(0, idx), targetClasses,
                adv.index_select(0, idx), k % restarts, k == 0));
            adv.index_copy_(0, idx, rows);
            robust.index_fill_(0, idx.index_select(0, TensorOps.Indices(broken)), false);
        }
        return adv.MoveToOuterDisposeScope();
    }
}
