using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// Projected gradient descent (Madry et al. 2018), L-inf (signed steps) or L2 (normalised steps), with
/// restarts keeping per point the worst result: a point that fools beats one that does not, otherwise
/// the higher loss wins. CW-inf is PGD with the CW loss (<see cref="CwSpec"/>).
/// </summary>
public sealed class Pgd(ThreatModel threat, PgdOptions? options = null, long seed = 0, string? name = null)
    : Attack(name ?? $"pgd{(options ?? new PgdOptions()).Steps}", threat, seed)
{
    public PgdOptions Options { get; } = Checked(options ?? new(), o => o.Steps >= 1 && o.Restarts >= 1, "PGD needs at least one step and one restart");

    public override Tensor Perturb(ModelView model, Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        using var random = NewRandom();
        var clean = images.detach();
        var loss = Options.Loss ?? Losses.CrossEntropy;
        var alpha = Options.ResolveStepSize(Threat);
        var sign = Options.Targeted ? -1.0 : 1.0;

        Tensor? best = null, bestFooled = null, bestLoss = null;
        for (var restart = 0; restart < Options.Restarts; restart++)
        {
            var x = Start(clean, random);
            for (var step = 0; step < Options.Steps; step++)
            {
                using var stepScope = NewDisposeScope();
                var (_, grad, _) = LossAndGradient(model, x, labels, loss);
                var moved = x + TensorOps.AscentDirection(grad, Threat.Norm) * (sign * alpha);
                TensorOps.Swap(ref x, Threat.Project(moved, clean));
            }

            if (Options.Restarts == 1)
                return x.MoveToOuterDisposeScope();

            using (var evalScope = NewDisposeScope())
            {
                var logits = Logits(model, x);
                var value = loss(logits, labels) * sign;
                var pred = logits.argmax(1);
                var fooled = Options.Targeted ? pred.eq(labels) : pred.ne(labels);
                if (best is null)
                {
                    best = x.alias();
                    bestFooled = fooled;
                    bestLoss = value;
                }
                else
                {
                    var take = (fooled & bestFooled!.logical_not()) | (fooled.eq(bestFooled!) & value.gt(bestLoss!));
                    best = TensorOps.WhereRows(take, x, best);
                    bestFooled = bestFooled!.logical_or(fooled);
                    bestLoss = where(take, value, bestLoss!);
                }
                best.MoveToOuterDisposeScope();
                bestFooled!.MoveToOuterDisposeScope();
                bestLoss!.MoveToOuterDisposeScope();
            }
        }
        return best!.MoveToOuterDisposeScope();
    }

    private Tensor Start(Tensor clean, AttackRandom random) => Options.Start switch
    {
        PgdStart.Uniform => Threat.RandomStart(clean, random),
        PgdStart.SmallNormal => Threat.Project(clean + random.Normal(clean) * Options.SmallNormalScale, clean),
        _ => clean.clone(),
    };
}
