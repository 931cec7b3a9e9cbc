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
}
