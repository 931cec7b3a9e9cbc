using AdaptSharp.Attacks;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Attacks;

/// <summary>On linear models the optimal L-inf perturbation is known in closed form.</summary>
public class ClosedFormTests
{
    private const double Eps = 0.1;

    private static (ModelView Model, Tensor Images, Tensor Labels, Tensor Optimal) TwoClassLinear()
    {
        var w = tensor(new float[] { 1.5f, -2f, 0.5f, 3f, -1f, 0.25f, -0.75f, 2f, 1f, -0.5f, 0.3f, -3f }).reshape(2, 6);
        var b = tensor(new float[] { 0.1f, -0.1f });
        var model = TinyModels.Linear(w, b);
        // clean points away from the box edges so clipping does not bind
        var images = TinyModels.Images(8, new long[] { 1, 2, 3 }, seed: 3, low: 0.2, high: 0.8);
        var labels = TinyModels.Predict(model, images);
        // delta* = -eps * sign(w_y - w_other)
        var wy = w.index_select(0, labels);
        var wo = w.index_select(0, 1 - labels);
        var optimal = images - Eps * (wy - wo).sign().reshape(images.shape);
        return (model, images, labels, optimal);
    }

    [Fact]
    public void FgsmHitsTheLinearOptimum()
    {
        using var scope = NewDisposeScope();
        var (model, x, y, optimal) = TwoClassLinear();
        var threat = ThreatModel.LInf(Eps);
        AssertClose(optimal, new Fgsm(threat).Perturb(model, x, y));
        AssertClose(optimal, new Fgsm(threat, FgsmOptions.PaperEvaluation(threat), seed: 5).Perturb(model, x, y));
    }

    [Fact]
    public void PgdHitsTheLinearOptimumUntargetedAndTargeted()
    {
        using var scope = NewDisposeScope();
        var (model, x, y, optimal) = TwoClassLinear();
        var threat = ThreatModel.LInf(Eps);
        AssertClose(optimal, new Pgd(threat, new PgdOptions(10), seed: 1).Perturb(model, x, y));
        AssertClose(optimal, new Pgd(threat, new PgdOptions(10, Restarts: 3), seed: 2).Perturb(model, x, y));
        AssertClose(optimal, new CwSpec().Create(threat, 3).Perturb(model, x, y));
        AssertClose(optimal, new Pgd(threat, new PgdOptions(10, Targeted: true), seed: 4).Perturb(model, x, 1 - y));
    }

    [Fact]
    public void PgdWithCustomLossHitsTheMultiClassTargetOptimum()
    {
        using var scope = NewDisposeScope();
        var w = randn(new long[] { 5, 8 }, generator: new Generator(7));
        var model = TinyModels.Linear(w, zeros(5));
        var x = TinyModels.Images(6, new long[] { 1, 2, 4 }, seed: 8, low: 0.2, high: 0.8);
        var y = TinyModels.Predict(model, x);
        var target = (y + 2).remainder(5);
        Func<Tensor, Tensor, Tensor> towardsTarget = (z, labels) =>
            z.gather(1, target.unsqueeze(1)).squeeze(1) - z.gather(1, labels.unsqueeze(1)).squeeze(1);
        var optimal = x + Eps * (w.index_select(0, target) - w.index_select(0, y)).sign().reshape(x.shape);
        var adv = new Pgd(ThreatModel.LInf(Eps), new PgdOptions(20, Loss: towardsTarget), seed: 9).Perturb(model, x, y);
        AssertClose(optimal, adv);
    }

    [Fact]
    public void L2PgdAndApgdReachTheLinearOptimum()
    {
        using var scope = NewDisposeScope();
        const double eps = 0.3;
        var (model, x, y, _) = TwoClassLinear();
        var w = tensor(new float[] { 1.5f, -2f, 0.5f, 3f, -1f, 0.25f, -0.75f, 2f, 1f, -0.5f, 0.3f, -3f }).reshape(2, 6);
        var dw = (w.index_select(0, y) - w.index_select(0, 1 - y)).reshape(x.shape);
        var optimal = x - eps * dw / dw.flatten(1).norm(1, keepdim: true, p: 2).reshape(-1, 1, 1, 1);
        Assert.True(optimal.min().ToDouble() > 0 && optimal.max().ToDouble() < 1, "the box must not bind");
        var threat = ThreatModel.L2(eps);
        var margin = Losses.Cw(double.PositiveInfinity);
        var pgd = new Pgd(threat, new PgdOptions(50, StepSize: eps / 5, Loss: margin), seed: 1).Perturb(model, x, y);
        AssertClose(optimal, pgd, 2e-3);
        var apgd = new Apgd(threat, new ApgdOptions(50, Loss: margin), seed: 1).Perturb(model, x, y);
        AssertClose(optimal, apgd, 2e-3);
        Assert.True(threat.Validate(apgd, x) <= eps + 1e-6);
    }

    [Fact]
    public void NoiseFgsmLeavesTheBallButNotTheBox()
    {
        using var scope = NewDisposeScope();
        var (model, x, y, optimal) = TwoClassLinear();
        var threat = ThreatModel.LInf(Eps);
        var adv = new Fgsm(threat, FgsmOptions.NoiseFgsm(threat), seed: 3).Perturb(model, x, y);
        var norms = threat.Norms(adv, x);
        Assert.True(norms.max().ToDouble() > Eps && norms.max().ToDouble() <= 3 * Eps + 1e-6);
        Assert.True(adv.min().ToDouble() >= 0 && adv.max().ToDouble() <= 1);
        Assert.Throws<ThreatModelViolationException>(() => threat.Validate(adv, x));
        // noise in [-2eps, 2eps] plus a step of eps along s = sign(optimal - x): (adv - x) * s >= -eps
        var s = (optimal - x).sign();
        Assert.True(((adv - x) * s).min().ToDouble() >= -Eps - 1e-6);
        // without noise and with projection off, a step of 2 eps lands exactly 2 eps away along the optimum's signs
        var plain = new Fgsm(threat, new FgsmOptions(0, 2 * Eps, false)).Perturb(model, x, y);
        AssertClose(x + 2 * Eps * s, plain);
    }

    internal static void AssertClose(Tensor expected, Tensor actual, double tol = 1e-5)
    {
        var diff = (expected - actual).abs().max().ToDouble();
        Assert.True(diff <= tol, $"max |expected - actual| = {diff}");
    }
}
