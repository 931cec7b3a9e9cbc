using AdaptSharp.Attacks;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Attacks;

/// <summary>FAB, RayS and Square on problems whose answer is known.</summary>
public class MinimalDistanceAttackTests
{
    private static float[] Project(float[] t, float[] w, float b, AttackNorm norm) =>
        HyperplaneProjection.Project(tensor(t).reshape(1, -1), tensor(w).reshape(1, -1), tensor(new[] { b }), norm)
            .data<float>().ToArray();

    [Fact]
    public void HyperplaneProjectionHandComputedCases()
    {
        using var scope = NewDisposeScope();
        // t = (0.5, 0.5), w = (1, 1), w·x = 1.2: both norms move each coordinate by 0.1
        Assert.Equal(new[] { 0.1f, 0.1f }, Project(new[] { 0.5f, 0.5f }, new[] { 1f, 1f }, 1.2f, AttackNorm.LInf), new Close(1e-5f));
        Assert.Equal(new[] { 0.1f, 0.1f }, Project(new[] { 0.5f, 0.5f }, new[] { 1f, 1f }, 1.2f, AttackNorm.L2), new Close(1e-5f));
        // box binds: t = (0.95, 0.5), need +0.2: the first coordinate only has 0.05
        Assert.Equal(new[] { 0.05f, 0.15f }, Project(new[] { 0.95f, 0.5f }, new[] { 1f, 1f }, 1.65f, AttackNorm.LInf), new Close(1e-5f));
        Assert.Equal(new[] { 0.05f, 0.15f }, Project(new[] { 0.95f, 0.5f }, new[] { 1f, 1f }, 1.65f, AttackNorm.L2), new Close(1e-5f));
        // L2 without binding is the orthogonal projection: w = (1, 2), need +0.5 -> d = 0.5 w / |w|^2
        Assert.Equal(new[] { 0.1f, 0.2f }, Project(new[] { 0.5f, 0.5f }, new[] { 1f, 2f }, 2.0f, AttackNorm.L2), new Close(1e-5f));
        // L-inf moves every coordinate by the same amount: 0.5 / (1 + 2)
        Assert.Equal(new[] { 1f / 6, 1f / 6 }, Project(new[] { 0.5f, 0.5f }, new[] { 1f, 2f }, 2.0f, AttackNorm.LInf), new Close(1e-5f));
        // negative gap and zero weight
        Assert.Equal(new[] { -0.1f, 0f }, Project(new[] { 0.5f, 0.5f }, new[] { 1f, 0f }, 0.4f, AttackNorm.LInf), new Close(1e-5f));
        // unreachable: move fully towards the plane
        Assert.Equal(new[] { 0.5f, 0.5f }, Project(new[] { 0.5f, 0.5f }, new[] { 1f, 1f }, 5f, AttackNorm.L2), new Close(1e-5f));
    }

    [Fact]
    public void HyperplaneProjectionIsMinimalOnRandomRows()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(5);
        var t = rand(new long[] { 20, 7 }, generator: g);
        var w = randn(new long[] { 20, 7 }, generator: g);
        var b = (w * rand(new long[] { 20, 7 }, generator: g)).sum(1);   // a point of the box lies on each plane
        foreach (var norm in new[] { AttackNorm.LInf, AttackNorm.L2 })
        {
            var step = HyperplaneProjection.Project(t, w, b, norm);
            var moved = t + step;
            Assert.True(((moved * w).sum(1) - b).abs().max().ToDouble() < 1e-4);
            Assert.True(moved.min().ToDouble() >= -1e-6 && moved.max().ToDouble() <= 1 + 1e-6);
            if (norm == AttackNorm.LInf)
            {
                // no smaller radius reaches the plane: the reachable range of w·x at 0.999 r misses b
                var radius = step.abs().amax(1) * 0.999;
                var lo = maximum(t - radius.unsqueeze(1), zeros_like(t));
                var hi = minimum(t + radius.unsqueeze(1), ones_like(t));
                var min = where(w.gt(0), w * lo, w * hi).sum(1);
                var max = where(w.gt(0), w * hi, w * lo).sum(1);
                Assert.True(b.lt(min).logical_or(b.gt(max)).all().item<bool>());
            }
            else
            {
                // KKT: the step is clamp(lambda w) for one lambda per row, so step/w is constant where no bound binds
                var free = moved.gt(1e-6).logical_and(moved.lt(1 - 1e-6)).logical_and(w.abs().gt(1e-3));
                var lambda = step / w;
                for (var i = 0; i < 20; i++)
                {
                    var l = lambda[i].masked_select(free[i]);
                    if (l.numel() > 1)
                        Assert.True((l.max() - l.min()).ToDouble() < 1e-4, $"row {i}");
                }
            }
        }
    }

    private sealed class Close(float tol) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tol;
        public int GetHashCode(float obj) => 0;
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

    [Theory]
    [InlineData(AttackNorm.LInf)]
    [InlineData(AttackNorm.L2)]
    public void FabTargetedFindsANearMinimalAdversarialOnALinearModel(AttackNorm norm)
    {
        using var scope = NewDisposeScope();
        var (model, x, y, w) = Linear(4, 11);
        var z = x.flatten(1).matmul(w.t());
        var second = z.argsort(1, descending: true).select(1, 1);
        // distance to the boundary y|k of a linear model: (z_y - z_k) / ||w_y - w_k||_dual
        Tensor Distance(Tensor k)
        {
            var gap = z.gather(1, y.unsqueeze(1)).squeeze(1) - z.gather(1, k.unsqueeze(1)).squeeze(1);
            var dw = w.index_select(0, y) - w.index_select(0, k);
            return gap / (norm == AttackNorm.LInf ? dw.abs().sum(1) : dw.square().sum(1).sqrt());
        }
        var targetDistance = Distance(second);
        var minimal = stack(Enumerable.Range(0, 4).Select(k => where(y.eq(k), full(8, 1e9f), Distance(full(8, (long)k)))).ToArray(), 1).amin(1);
        var threat = new ThreatModel(norm, norm == AttackNorm.LInf ? 0.3 : 1.5);
        Assert.True(targetDistance.max().ToDouble() < threat.Eps);
        var adv = new Fab(threat, new FabOptions(Iterations: 100, TargetClasses: 1), seed: 1).Perturb(model, x, y);
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
        var rays = new Rays(ThreatModel.LInf(0.5), new RaysOptions(QueryBudget: 3000, EarlyStop: false), seed: 1);
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
        var adv = new Rays(threat, new RaysOptions(500), 1).Perturb(model, x, y);
        threat.Validate(adv, x);
        Assert.True(TinyModels.Predict(model, adv).eq(y).all().item<bool>());
    }

    [Fact]
    public void SquareSchedulePInitHalvesOnAutoAttackQueryMarks()
    {
        Assert.Equal(0.8, Square.PSelection(0, 10000, 0.8, rescale: true));
        Assert.Equal(0.8, Square.PSelection(10, 10000, 0.8, rescale: true));
        Assert.Equal(0.4, Square.PSelection(11, 10000, 0.8, rescale: true));
        Assert.Equal(0.2, Square.PSelection(51, 10000, 0.8, rescale: true));
        Assert.Equal(0.8 / 512, Square.PSelection(9000, 10000, 0.8, rescale: true));
        // rescaled to the budget: query 2500 of 5000 is mark 5000
        Assert.Equal(0.8 / 128, Square.PSelection(2500, 5000, 0.8, rescale: true));
    }

    [Fact]
    public void SquareBreaksALinearModelWellInsideItsBall()
    {
        using var scope = NewDisposeScope();
        var (model, x, y, w) = Linear(2, 41);
        var optimum = BoundaryDistance(w, x, y, 1 - y);
        var threat = ThreatModel.LInf(optimum.max().ToDouble() * 1.5);
        var square = new Square(threat, new SquareOptions(1000), seed: 2);
        var adv = square.Perturb(model, x, y);
        threat.Validate(adv, x);
        Assert.True(TinyModels.Predict(model, adv).ne(y).all().item<bool>());
        Assert.Equal(0, square.GradientEvaluations);
    }
}
