using AdaptSharp.Attacks;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Attacks;

public class ApgdTests
{
    [Fact]
    public void CheckpointScheduleMatchesAutoAttackFor100Iterations()
    {
        Assert.Equal((22, 3, 6), Apgd.Intervals(100));
        Assert.Equal(new[] { 22, 41, 57, 70, 80, 87, 93, 99 }, Apgd.Checkpoints(100));
        // interval differences never drop below the 6% floor and shrink by 3 points
        var c = Apgd.Checkpoints(1000);
        Assert.Equal(220, c[0]);
        Assert.Equal(220 + 190, c[1]);
        Assert.All(c.Zip(c.Skip(1), (a, b) => b - a), d => Assert.True(d >= 60));
        Assert.Equal(new[] { 1, 2, 3, 4, 5 }, Apgd.Checkpoints(5));
    }

    [Fact]
    public void ApgdHitsTheLinearOptimum()
    {
        using var scope = NewDisposeScope();
        const double eps = 0.1;
        var w = randn(new long[] { 2, 12 }, generator: new Generator(11));
        var model = TinyModels.Linear(w, zeros(2));
        var x = TinyModels.Images(8, new long[] { 1, 3, 4 }, seed: 12, low: 0.2, high: 0.8);
        var y = TinyModels.Predict(model, x);
        var optimal = x - eps * (w.index_select(0, y) - w.index_select(0, 1 - y)).sign().reshape(x.shape);
        // a custom margin loss keeps the gradient direction constant even after the point is fooled
        var apgd = new Apgd(ThreatModel.LInf(eps), new ApgdOptions(20, Loss: Losses.Cw(double.PositiveInfinity)), seed: 1);
        ClosedFormTests.AssertClose(optimal, apgd.Perturb(model, x, y));
        Assert.Equal(8 * 21, apgd.GradientEvaluations);
    }

    [Fact]
    public void PgdAndApgdReachTheExhaustiveWorstCaseOfASmallReluNet()
    {
        using var scope = NewDisposeScope();
        const double eps = 0.08;
        var threat = ThreatModel.LInf(eps);
        var model = TinyModels.Mlp(2, 12, 3, seed: 21, scale: 3.0);
        var x = TinyModels.Images(6, new long[] { 2 }, seed: 22, low: 0.1, high: 0.9);
        var y = TinyModels.Predict(model, x);
        var margin = Losses.Cw(double.PositiveInfinity);

        var gridBest = GridWorstMargin(model, x, y, eps, 401);
        var pgd = new Pgd(threat, new PgdOptions(100, StepSize: eps / 20, Restarts: 5, Loss: margin), seed: 3).Perturb(model, x, y);
        var apgd = new Apgd(threat, new ApgdOptions(100, Restarts: 3, Loss: margin), seed: 4).Perturb(model, x, y);
        using var _ = no_grad();
        var pgdMargin = Losses.Margin(model.Forward(pgd), y);
        var apgdMargin = Losses.Margin(model.Forward(apgd), y);
        // the grid holds points up to spacing/2 away from the optimum: attacks must be at least as good, up to that slack
        var slack = 2e-3;
        for (var i = 0; i < x.shape[0]; i++)
        {
            Assert.True(pgdMargin[i].ToDouble() <= gridBest[i].ToDouble() + slack, $"pgd {i}: {pgdMargin[i].ToDouble()} vs grid {gridBest[i].ToDouble()}");
            Assert.True(apgdMargin[i].ToDouble() <= gridBest[i].ToDouble() + slack, $"apgd {i}: {apgdMargin[i].ToDouble()} vs grid {gridBest[i].ToDouble()}");
        }
    }

    internal static Tensor GridWorstMargin(ModelView model, Tensor x, Tensor y, double eps, int steps)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var offsets = linspace(-eps, eps, steps);
        var grid = stack(meshgrid(new[] { offsets, offsets }, indexing: "ij"), 2).reshape(-1, 2);
        var best = new List<Tensor>();
        for (var i = 0; i < x.shape[0]; i++)
        {
            var points = (x[i].unsqueeze(0) + grid).clamp(0.0, 1.0);
            var labels = y[i].expand(points.shape[0]);
            best.Add(Losses.Margin(model.Forward(points), labels).min());
        }
        return stack(best).MoveToOuterDisposeScope();
    }

    [Fact]
    public void ApgdTargetedBreaksALinearModelAndStaysInTheBall()
    {
        using var scope = NewDisposeScope();
        var threat = ThreatModel.LInf(0.3);
        var model = TinyModels.Mlp(16, 20, 10, seed: 31);
        var x = TinyModels.Images(10, new long[] { 1, 4, 4 }, seed: 32);
        var y = TinyModels.Predict(model, x);
        var attack = new Apgd(threat, new ApgdOptions(Iterations: 20, TargetClasses: 9), seed: 5);
        var adv = attack.Perturb(model, x, y);
        threat.Validate(adv, x);
        var robust = TinyModels.Predict(model, adv).eq(y).sum().ToInt64();
        Assert.True(robust < 10, "APGD-T at a large eps should break some point");
        Assert.True(attack.GradientEvaluations > 0);
    }

    [Fact]
    public void ApgdIsReproducibleForASeed()
    {
        using var scope = NewDisposeScope();
        var threat = ThreatModel.LInf(0.05);
        var model = TinyModels.Mlp(16, 20, 10, seed: 41);
        var x = TinyModels.Images(10, new long[] { 1, 4, 4 }, seed: 42);
        var y = TinyModels.Predict(model, x);
        var a = new Apgd(threat, new ApgdOptions(10, Loss: Losses.Dlr), seed: 7).Perturb(model, x, y);
        var b = new Apgd(threat, new ApgdOptions(10, Loss: Losses.Dlr), seed: 7).Perturb(model, x, y);
        Assert.Equal(0.0, (a - b).abs().max().ToDouble());
    }
}
