using AdaptSharp.Attacks;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Attacks;

/// <summary>
/// The points where AdaptSharp's attacks must behave as fra31/auto-attack and uclaml/RayS do, each pinned
/// against a closed form or a hand-computed trace in float64.
/// </summary>
public class ReferenceFaithfulnessTests
{
    [Fact]
    public void SquareInsideAutoAttackIndexesItsScheduleByTheQueryCount()
    {
        // AutoAttack: query 4999 of 5000 is past the 4000 mark only (p_init / 128): windows of
        // round(sqrt(0.8/128 * 784)) = 2 pixels on 28x28 grey, not the 1 pixel of the rescaled schedule
        Assert.Equal(0.8 / 128, Square.PSelection(4999, 5000, 0.8, rescale: false));
        Assert.Equal(0.8 / 64, Square.PSelection(2500, 5000, 0.8, rescale: false));
        Assert.Equal(0.8 / 2, Square.PSelection(11, 5000, 0.8, rescale: false));
        // the standalone option maps the budget onto 10,000 queries
        Assert.Equal(0.8 / 512, Square.PSelection(4999, 5000, 0.8, rescale: true));
        Assert.Equal(0.8 / 128, Square.PSelection(2500, 5000, 0.8, rescale: true));

        var threat = ThreatModel.LInf(8.0 / 255);
        foreach (var version in new[] { AutoAttackVersion.Standard, AutoAttackVersion.Plus })
            Assert.All(new AutoAttack(threat, new AutoAttackOptions(version)).Stages.OfType<Square>(), s => Assert.False(s.Options.RescaleSchedule));
        Assert.False(new Square(threat).Options.RescaleSchedule);
        Assert.True(new Square(threat, new SquareOptions(1000, RescaleSchedule: true)).Options.RescaleSchedule);
    }

    [Fact]
    public void L2ApgdTakesAFirstStepOfTwiceEps()
    {
        using var scope = NewDisposeScope();
        const double eps = 0.2;
        const long seed = 5;
        // z0 = 10, z1 = w.x with sum(w) = 0: the point stays correct (label 0) and the CE gradient is along w
        var wValues = new double[16];
        for (var i = 0; i < 16; i++)
            wValues[i] = Math.Sin(1.7 * i + 0.3);
        var mean = wValues.Average();
        for (var i = 0; i < 16; i++)
            wValues[i] -= mean;
        var weight = tensor(new float[16].Concat(wValues.Select(v => (float)v)).ToArray()).reshape(2, 16);
        var model = TinyModels.Linear(weight, tensor(new float[] { 10, 0 }));
        var x = full(new long[] { 1, 1, 4, 4 }, 0.5f);
        var y = tensor(new long[] { 0 });

        var adv = new Apgd(ThreatModel.L2(eps), new ApgdOptions(Iterations: 1), seed).Perturb(model, x, y);

        // hand trace: x0 = x + eps u (u the normalised Gaussian start), z = P(x0 + 2 eps w/||w||),
        // first iteration without momentum, so x1 = x + eps (u + 2 w^) / ||u + 2 w^|| (no box clipping here)
        using var random = new AttackRandom(seed);
        var t = random.Normal(x).flatten().to_type(ScalarType.Float64).data<double>().ToArray();
        var tNorm = Math.Sqrt(t.Sum(v => v * v));
        var wNorm = Math.Sqrt(wValues.Sum(v => v * v));
        var direction = t.Select((v, i) => v / tNorm + 2 * wValues[i] / wNorm).ToArray();
        var dNorm = Math.Sqrt(direction.Sum(v => v * v));
        var expected = direction.Select(v => 0.5 + eps * v / Math.Max(dNorm, 1.0)).ToArray();
        var found = adv.flatten().to_type(ScalarType.Float64).data<double>().ToArray();
        for (var i = 0; i < 16; i++)
            Assert.True(Math.Abs(found[i] - expected[i]) < 1e-5, $"coordinate {i}: {found[i]} vs {expected[i]}");
    }

    [Fact]
    public void L2SquareMovesWindowMassPerChannelAndKeepsTheNorm()
    {
        using var scope = NewDisposeScope();
        const double eps = 0.5;
        const int c = 3, h = 6, w = 6, s = 3;
        var g = new Generator(11);
        var delta = randn(new long[] { 2, c, h, w }, ScalarType.Float64, generator: g);
        // sample 0 uses 70% of the budget, sample 1 all of it
        var scale = tensor(new[] { 0.7 * eps, eps }, ScalarType.Float64);
        delta = delta / TensorOps.PerSample(TensorOps.L2Norms(delta), delta) * TensorOps.PerSample(scale, delta);
        var bump = randn(new long[] { 2, c, s, s }, ScalarType.Float64, generator: g);
        (int H, int W) target = (1, 2), source = (3, 0);   // overlapping at (3, 2)

        var updated = Square.MoveL2Mass(delta, bump, target, source, eps);

        var d = delta.data<double>().ToArray();
        var u = updated.data<double>().ToArray();
        bool In((int H, int W) corner, int r, int col) =>
            r >= corner.H && r < corner.H + s && col >= corner.W && col < corner.W + s;
        double At(double[] a, int n, int ch, int r, int col) => a[((n * c + ch) * h + r) * w + col];
        for (var n = 0; n < 2; n++)
        {
            var imageSq = 0.0;
            for (var ch = 0; ch < c; ch++)
                for (var r = 0; r < h; r++)
                    for (var col = 0; col < w; col++)
                        imageSq += At(d, n, ch, r, col) * At(d, n, ch, r, col);
            var total = 0.0;
            for (var ch = 0; ch < c; ch++)
            {
                double windowsSq = 0, targetSq = 0;
                for (var r = 0; r < h; r++)
                {
                    for (var col = 0; col < w; col++)
                    {
                        var inTarget = In(target, r, col);
                        var inSource = In(source, r, col);
                        if (inTarget || inSource)
                            windowsSq += At(d, n, ch, r, col) * At(d, n, ch, r, col);
                        if (inTarget)
                            targetSq += At(u, n, ch, r, col) * At(u, n, ch, r, col);
                        else if (inSource)
                            Assert.Equal(0.0, At(u, n, ch, r, col));
                        else
                            Assert.Equal(At(d, n, ch, r, col), At(u, n, ch, r, col));
                        total += At(u, n, ch, r, col) * At(u, n, ch, r, col);
                    }
                }
                // each channel: its own windows' mass plus an equal share of the unused budget
                var budget = Math.Sqrt(Math.Max(eps * eps - imageSq, 0) / c + windowsSq);
                Assert.True(Math.Abs(Math.Sqrt(targetSq) - budget) < 1e-9, $"sample {n} channel {ch}: {Math.Sqrt(targetSq)} vs {budget}");
            }
            Assert.True(Math.Abs(Math.Sqrt(total) - eps) < 1e-9, $"sample {n}: proposal norm {Math.Sqrt(total)}");
        }
    }

    [Fact]
    public void RaysReturnsPointsBeyondTheBoundaryByItsTolerance()
    {
        using var scope = NewDisposeScope();
        const int dim = 16;
        // two classes split by the hyperplane v.(x - 0.5) = 0; points within 0.1 of the centre, so no box clipping
        var v = new double[dim];
        for (var i = 0; i < dim; i++)
            v[i] = Math.Cos(2.3 * i + 0.4) * (1 + i % 3);
        var weight = tensor(new float[dim].Concat(v.Select(e => (float)e)).ToArray()).reshape(2, dim);
        var bias = tensor(new float[] { 0, (float)-(0.5 * v.Sum()) });
        var model = TinyModels.Linear(weight, bias);
        var x = TinyModels.Images(12, new long[] { 1, 4, 4 }, seed: 3, low: 0.4, high: 0.6);
        var y = TinyModels.Predict(model, x);
        var threat = ThreatModel.LInf(0.3);
        var rays = new Rays(threat, new RaysOptions(2000), seed: 1);

        var adv = rays.Perturb(model, x, y);
        threat.Validate(adv, x);

        Assert.All(rays.LastBroken, Assert.True);
        var xs = x.flatten(1).to_type(ScalarType.Float64).data<double>().ToArray();
        var advs = adv.flatten(1).to_type(ScalarType.Float64).data<double>().ToArray();
        var labels = y.data<long>().ToArray();
        for (var n = 0; n < 12; n++)
        {
            // the returned point is x + r s / sqrt(dim) for a sign vector s; find r and s, then the boundary along s
            var step = Enumerable.Range(0, dim).Select(i => advs[n * dim + i] - xs[n * dim + i]).ToArray();
            var r = step.Average(Math.Abs) * Math.Sqrt(dim);
            Assert.True(step.All(e => Math.Abs(Math.Abs(e) - r / Math.Sqrt(dim)) < 1e-6), $"point {n} is not on a ray");
            var sign = labels[n] == 1 ? 1.0 : -1.0;   // margin of the true class: sign * v.(x - 0.5)
            var margin0 = sign * Enumerable.Range(0, dim).Sum(i => v[i] * (xs[n * dim + i] - 0.5));
            var slope = sign * Enumerable.Range(0, dim).Sum(i => v[i] * Math.Sign(step[i])) / Math.Sqrt(dim);
            var boundary = -margin0 / slope;
            // binary search ends within the tolerance above the boundary; the returned point is one tolerance further
            Assert.True(r - boundary >= rays.Options.Tolerance * (1 - 1e-3), $"point {n}: {r - boundary} beyond the boundary");
            Assert.True(r - boundary <= 2 * rays.Options.Tolerance + 1e-5, $"point {n}: {r - boundary} beyond the boundary");
            Assert.True(rays.LastDistances[n] <= r / Math.Sqrt(dim) + 1e-6);
        }
        // scored alone or in any batch, every returned point is adversarial
        Assert.True(TinyModels.Predict(model, adv).ne(y).all().item<bool>());
        for (var n = 0; n < 12; n++)
            Assert.NotEqual(labels[n], TinyModels.Predict(model, adv.slice(0, n, n + 1, 1)).item<long>());
    }

    [Fact]
    public void CwLossKeepsItsGradientOnConfidentlyCorrectPoints()
    {
        using var scope = NewDisposeScope();
        // standard CW (kappa 10): only the misclassified side is floored; a margin of +30 is attacked with full
        // gradient (the paper's code floors the loss at -10 and leaves such points alone)
        var z = tensor(new float[] { 30, 0, 0, -30, 0, 0 }).reshape(2, 3);
        z.requires_grad_(true);
        var y = tensor(new long[] { 0, 0 });
        var loss = Losses.CwLoss(z, y);
        Assert.Equal(new[] { -30f, 10f }, loss.detach().data<float>().ToArray());
        var grad = autograd.grad(new[] { loss.sum() }, new[] { z })[0];
        Assert.Equal(-1f, grad[0, 0].item<float>());
        Assert.Equal(0f, grad[1].abs().sum().item<float>());
    }
}
