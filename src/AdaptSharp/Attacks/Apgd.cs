using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// Untargeted Auto-PGD (APGD-CE / APGD-DLR) as in AutoAttack: restarts run only on points still robust;
/// a fooled point returns the iterate that fooled, any other point its highest-loss iterate.
/// EOT: the gradient is averaged over <see cref="ApgdOptions.EotIterations"/> forwards.
/// </summary>
public sealed class Apgd : Attack
{
    public Apgd(ThreatModel threat, ApgdOptions? options = null, long seed = 0, string? name = null)
        : base(name ?? DefaultName(options ?? new ApgdOptions()), threat, seed)
    {
        Options = options ?? new ApgdOptions();
        if (Options.Iterations < 1 || Options.Restarts < 1 || Options.EotIterations < 1)
            throw new ArgumentException("APGD needs at least one iteration, restart and EOT sample");
    }

    public ApgdOptions Options { get; }

    private static string DefaultName(ApgdOptions o) =>
        o.CustomLoss is not null ? "apgd" : o.Loss == ApgdLoss.Dlr ? "apgd-dlr" : "apgd-ce";

    public override Tensor Perturb(ModelView model, Tensor images, Tensor labels)
    {
        using var random = NewRandom();
        var loss = Options.CustomLoss ?? (Options.Loss == ApgdLoss.Dlr ? Losses.Dlr : Losses.CrossEntropy);
        return OnStillRobust(model, images, labels, Options.Restarts, 0, p =>
        {
            var run = ApgdCore.Run(Threat, p.X, p.Y, Options.Iterations, Options.Momentum, Options.Rho, random,
                x => EotLossAndGradient(model, x, p.Y, loss, Options.EotIterations));
            return (run.Fooled, TensorOps.WhereRows(run.Fooled, run.BestAdversarial, p.First ? run.HighestLossPoint : p.Previous));
        });
    }

    internal (Tensor Loss, Tensor Grad, Tensor Logits) EotLossAndGradient(ModelView model, Tensor x, Tensor y,
        Func<Tensor, Tensor, Tensor> loss, int eot)
    {
        if (eot == 1)
            return LossAndGradient(model, x, y, loss);
        using var scope = NewDisposeScope();
        Tensor? gradSum = null, lossValue = null, logits = null;
        for (var k = 0; k < eot; k++)
        {
            var (l, g, z) = LossAndGradient(model, x, y, loss);
            gradSum = gradSum is null ? g : gradSum + g;
            lossValue = l;
            logits = z;
        }
        return ((lossValue!).MoveToOuterDisposeScope(), (gradSum! / eot).MoveToOuterDisposeScope(),
            logits!.MoveToOuterDisposeScope());
    }
}
