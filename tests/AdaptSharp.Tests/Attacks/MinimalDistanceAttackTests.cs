using AdaptSharp.Attacks;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Attacks;

/// <summary>FAB, RayS and Square on problems whose answer is known.</summary>
public class MinimalDistanceAttackTests
{
    [Fact]
    public void HyperplaneProjectionIsTheMinimalLInfStep()
    {
        using var scope = NewDisposeScope();
        // t = (0.5, 0.5), w = (1, 1), w·x = 1.2 -> need +0.2, radius 0.1 each
        var d = LinfHyperplaneProjection.Project(tensor(new float[] { 0.5f, 0.5f }).reshape(1, 2),
            tensor(new float[] { 1, 1 }).reshape(1, 2), tensor(new float[] { 1.2f })).data<float>().ToArray();
        Assert.Equal(0.1f, d[0], 5);
        Assert.Equal(0.1f, d[1], 5);
        // box binds: t = (0.95, 0.5): the first coordinate can only add 0.05, so the second takes 0.15
        d = LinfHyperplaneProjection.Project(tensor(new float[] { 0.95f, 0.5f }).reshape(1, 2),
            tensor(new float[] { 1, 1 }).reshape(1, 2), tensor(new float[] { 1.65f })).data<float>().ToArray();
        Assert.Equal(0.05f, d[0], 5);
        Assert.Equal(0.15f, d[1], 5);

        // random rows: on the hyperplane, in the box, and no smaller radius reaches it (checked by bisection)
        var g = new Generator(5);
        var t = rand(new long[] { 20, 7 }, generator: g);
        var w = randn(new long[] { 20, 7 }, generator: g);
        var b = (w * rand(new long[] { 20, 7 }, generator: g)).sum(1);   // a point of the box lies on each plane
        var step = LinfHyperplaneProjection.Project(t, w, b);
        var moved = t + step;
        Assert.True(((moved * w).sum(1) - b).abs().max().ToDouble() < 1e-4);
        Assert.True(moved.min().ToDouble() >= -1e-6 && moved.max().ToDouble() <= 1 + 1e-6);
        var radius = step.abs().amax(1);
        for (var i = 0; i < 20; i++)
        {
            var r = radius[i].ToDouble() * 0.999;
            var lo = maximum(t[i] - r, zeros(7));
            var hi = minimum(t[i] + r, ones(7));
            var range = (w[i] * lo).sum().ToDouble() is var a && (w[i] * hi).sum().ToDouble() is var c
                ? (where(w[i].gt(0), w[i] * lo, w[i] * hi).sum().ToDouble(), where(w[i].gt(0), w[i] * hi, w[i] * lo).sum().ToDouble())
                : default;
            var target = b[i].ToDouble();
            Assert.True(target < range.Item1 || target > range.Item2, $"row {i}: a smaller radius reaches the plane");
        }
    }

    private static (ModelView Model, Tensor X, Tensor Y, Tensor W) Linear(long classes, long seed)
    {
        var w = randn(new long[] { classes, 16 }, generator: new Generator((ulong)seed)) * 4;
        var model = TinyModels.Linear(w, zeros(classes));
        var x = TinyModels.Images(8, new long[] { 1, 4, 4 }, seed: seed + 1, low: 0.35, high: 0.65);
        return (model, x, TinyModels.Predict(model, x), w);
    }

    /// <summary>Distance from x to the boundary between y and k of a linear model: (z_y - z_k) / ||w_y - w_k||_1.</summary>
    private static Tensor BoundaryDistance(Tensor w, Tensor x, Tensor y, Tensor k)
    {
        var z = x.flatten(1).matmul(w.t());
        var gap = z.gather(1, y.unsqueeze(1)).squeeze(1) - z.gather(1, k.unsqueeze(1)).squeeze(1);
        return gap / (w.index_select(0, y) - w.index_select(0, k)).abs().sum(1);
    }

    [Fact]
    public void FabTargetedFindsANearMinimalAdversarialOnALinearModel()
    {
        using var scope = NewDisposeScope();
        var (model, x, y, w) = Linear(4, 11);
        var z = x.flatten(1).matmul(w.t());
        var second = z.argsort(1, descending: true).select(1, 1);
        var targetDistance = BoundaryDistance(w, x, y, second);
        var minimal = stack(Enumerable.Range(0, 4).Select(k => where(y.eq(k), full(8, 1e9f),
            BoundaryDistance(w, x, y, full(8, (long)k)))).ToArray(), 1).amin(1);
        var threat = ThreatModel.LInf(0.3);
        Assert.True(targetDistance.max().ToDouble() < 0.3);
        var adv = new FabTargeted(threat, targetClasses: 1, iterations: 100, seed: 1).Perturb(model, x, y);
        threat.Validate(adv, x);
        Assert.True(TinyModels.Predict(model, adv).ne(y).all().item<bool>());
        var found = threat.Norms(adv, x);
        Assert.True(found.ge(minimal - 1e-5).all().item<bool>(), "below the provable minimum");
        Assert.True(found.le(targetDistance * 1.05 + 1e-5).all().item<bool>(),
            $"found {string.Join(",", found.data<float>().ToArray())} vs boundary {string.Join(",", targetDistance.data<float>().ToArray())}");
    }

    [Fact]
    public void RaysFindsTheMinimalLInfDistanceOfABinaryLinearModel()
    {
        using var scope = NewDisposeScope();
        var (model, x, y, w) = Linear(2, 21);
        var optimum = BoundaryDistance(w, x, y, 1 - y);
        var rays = new Rays(ThreatModel.LInf(0.5), queryBudget: 3000, seed: 1, earlyStop: false);
        var adv = rays.Perturb(model, x, y);
        var found = tensor(rays.LastDistances);
        // the optimal direction is a sign vector, which RayS's block search reaches; binary search tolerance 1e-3/sqrt(16)
        Assert.True((found - optimum).abs().max().ToDouble() < 1e-3,
            $"found {string.Join(",", rays.LastDistances)} vs {string.Join(",", optimum.data<float>().ToArray())}");
        Assert.True(rays.Queries <= 8 * 3100);
        Assert.True(TinyModels.Predict(model, adv).ne(y).all().item<bool>());
    }

    [Fact]
    public void RaysReportsRobustPointsWhenEpsIsBelowTheDistance()
    {
        using var scope = NewDisposeScope();
        var (model, x, y, w) = Linear(2, 31);
        var optimum = BoundaryDistance(w, x, y, 1 - y);
        var threat = ThreatModel.LInf(optimum.min().ToDouble() * 0.9);
        var adv = new Rays(threat, 2000, 1).Perturb(model, x, y);
        threat.Validate(adv, x);
        Assert.True(TinyModels.Predict(model, adv).eq(y).all().item<bool>());
    }

    [Fact]
    public void SquareSchedulePInitHalvesOnAutoAttackQueryMarks()
    {
        Assert.Equal(0.8, Square.PSelection(0, 10000, 0.8));
        Assert.Equal(0.8, Square.PSelection(10, 10000, 0.8));
        Assert.Equal(0.4, Square.PSelection(11, 10000, 0.8));
        Assert.Equal(0.2, Square.PSelection(51, 10000, 0.8));
        Assert.Equal(0.8 / 512, Square.PSelection(9000, 10000, 0.8));
        // the schedule is rescaled to the budget: query 2500 of 5000 is mark 5000
        Assert.Equal(0.8 / 128, Square.PSelection(2500, 5000, 0.8));
    }

    [Fact]
    public void SquareBreaksALinearModelWellInsideItsBall()
    {
        using var scope = NewDisposeScope();
        var (model, x, y, w) = Linear(2, 41);
        var optimum = BoundaryDistance(w, x, y, 1 - y);
        var threat = ThreatModel.LInf(optimum.max().ToDouble() * 1.5);
        var square = new Square(threat, 1000, seed: 2);
        var adv = square.Perturb(model, x, y);
        threat.Validate(adv, x);
        Assert.True(TinyModels.Predict(model, adv).ne(y).all().item<bool>());
        Assert.Equal(0, square.GradientEvaluations);
    }
}
