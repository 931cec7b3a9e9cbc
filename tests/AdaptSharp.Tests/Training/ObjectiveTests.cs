using AdaptSharp.Attacks;
using AdaptSharp.Models;
using AdaptSharp.Training;
using TorchSharp;
using static TorchSharp.torch;
using static AdaptSharp.Tests.Training.TrainingFixtures;

namespace AdaptSharp.Tests.Training;

public class ObjectiveTests
{
    // Independent host-side formulas over logits rows (double precision).
    private static double[] Softmax(double[] z)
    {
        var m = z.Max();
        var e = z.Select(v => Math.Exp(v - m)).ToArray();
        var s = e.Sum();
        return e.Select(v => v / s).ToArray();
    }

    private static double[][] Rows(Tensor logits)
    {
        var flat = Floats(logits);
        var k = (int)logits.shape[1];
        return Enumerable.Range(0, (int)logits.shape[0]).Select(i => flat.Skip(i * k).Take(k).ToArray()).ToArray();
    }

    private static double Ce(double[][] rows, long[] y) =>
        rows.Select((z, i) => -Math.Log(Softmax(z)[y[i]])).Average();

    private static double Kl(double[][] clean, double[][] adv) =>
        clean.Select((z, i) =>
        {
            var p = Softmax(z);
            var q = Softmax(adv[i]);
            return p.Select((pk, k) => pk * (Math.Log(pk) - Math.Log(q[k]))).Sum();
        }).Average();

    private static double Mart(double[][] clean, double[][] adv, long[] y, double beta)
    {
        double boosted = 0, robust = 0;
        for (var i = 0; i < y.Length; i++)
        {
            var q = Softmax(adv[i]);
            var p = Softmax(clean[i]);
            var wrong = q.Where((_, k) => k != y[i]).Max();
            boosted += -Math.Log(q[y[i]]) - Math.Log(1.0001 - wrong);
            var kl = p.Select((pk, k) => pk * (Math.Log(pk) - Math.Log(q[k] + 1e-12))).Sum();
            robust += kl * (1.0000001 - p[y[i]]);
        }
        return boosted / y.Length + beta * robust / y.Length;
    }

    [Theory]
    [InlineData(ObjectiveKind.Natural)]
    [InlineData(ObjectiveKind.At)]
    [InlineData(ObjectiveKind.Nfgsm)]
    [InlineData(ObjectiveKind.Trades)]
    [InlineData(ObjectiveKind.Mart)]
    [InlineData(ObjectiveKind.AdaptCe)]
    [InlineData(ObjectiveKind.AdaptKl)]
    public void LossEqualsItsFormula(ObjectiveKind kind)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModel();
        var (x, y) = Batch();
        var g = new Generator(99);
        var adv = (x + (rand(x.shape, generator: g) - 0.5) * 0.2).clamp(0, 1);
        const double lambda = 2.5;
        var objective = Options(kind, lambda);

        using var output = objective.Loss(model, x, adv, y);
        var actual = output.Loss.ToDouble();

        double[][] clean, attacked;
        using (no_grad())
        {
            clean = Rows(model.Forward(x, usePrompts: true));
            attacked = Rows(model.Forward(adv, usePrompts: true));
        }
        var labels = y.data<long>().ToArray();
        var expected = kind switch
        {
            ObjectiveKind.Natural => Ce(clean, labels),
            ObjectiveKind.At or ObjectiveKind.Nfgsm => Ce(attacked, labels),
            ObjectiveKind.Trades or ObjectiveKind.AdaptKl => Ce(clean, labels) + lambda * Kl(clean, attacked),
            ObjectiveKind.AdaptCe => Ce(clean, labels) + lambda * Ce(attacked, labels),
            ObjectiveKind.Mart => Mart(clean, attacked, labels, lambda),
            _ => throw new InvalidOperationException(),
        };
        Assert.Equal(expected, actual, 4);
        Assert.True(output.Loss.requires_grad, "the loss must carry the graph to the trainable parameters");
    }

    [Fact]
    public void BatchedCleanAndAdversarialForwardMatchesSeparateForwards()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModel();
        var (x, y) = Batch();
        var adv = (x + 0.05).clamp(0, 1);
        var batched = Options(ObjectiveKind.AdaptKl);
        var separate = Options(ObjectiveKind.AdaptKl) with { BatchCleanAndAdversarial = false };
        using var a = batched.Loss(model, x, adv, y);
        using var b = separate.Loss(model, x, adv, y);
        // Batch size changes the GEMM blocking (and the kernel chosen on some CPUs): float32 rounding only, so the
        // tolerance scales with the magnitudes involved.
        var lossScale = Math.Max(1, Math.Abs(b.Loss.ToDouble()));
        Assert.True(Math.Abs(a.Loss.ToDouble() - b.Loss.ToDouble()) <= 1e-5 * lossScale);
        var logitScale = Math.Max(1, b.AdversarialLogits!.abs().max().ToDouble());
        Assert.True(a.AdversarialLogits!.sub(b.AdversarialLogits!).abs().max().ToDouble() <= 1e-5 * logitScale);
    }

    [Fact]
    public void NfgsmTakesOneStepOfSizeEpsFromNoiseInTwiceTheBallOnTheUnpromptedModel()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModel();
        var (raw, y) = Batch();
        // Interior pixels: x + noise stays inside [0,1], so only the final point can need clipping and the
        // test does not depend on whether the noise is clipped before the step.
        var x = raw * 0.5 + 0.25;
        const double eps = 0.1;
        const long seed = 21;
        var objective = Options(ObjectiveKind.Nfgsm);
        var adv = objective.Perturb(model, x, y, seed)!;

        // Reference: the same seeded noise U[-2eps, 2eps], one signed CE step of eps on f_0 at x + noise,
        // clipped to [0,1] only.
        using var random = new AttackRandom(seed);
        var start = x + random.Uniform(x, -2 * eps, 2 * eps);
        Assert.True(start.min().ToDouble() >= 0 && start.max().ToDouble() <= 1);
        var input = start.detach().clone();
        input.requires_grad_(true);
        var loss = Losses.CrossEntropy(model.Forward(input, usePrompts: false), y).sum();
        var grad = autograd.grad(new[] { loss }, new[] { input })[0];
        var expected = (start + grad.sign() * eps).clamp(0, 1);

        Assert.True(adv.allclose(expected, rtol: 0, atol: 1e-6));
        var distance = (adv - x).abs().max().ToDouble();
        Assert.True(distance > eps * 1.5, $"N-FGSM is not projected to the eps-ball (got max |delta| {distance})");
        Assert.True(distance <= 3 * eps + 1e-6);
    }

    [Fact]
    public void TradesInnerAttackMaximisesKlOnF0AndAdaptsMaximisesCeOnFp()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModel();
        var (x, y) = Batch();
        const long seed = 8;
        var eps = 0.1;
        var step = 0.03;
        var threat = ThreatModel.LInf(eps);

        Tensor OneStep(Tensor start, bool prompted, bool kl)
        {
            var input = start.detach().clone();
            input.requires_grad_(true);
            var logits = model.Forward(input, usePrompts: prompted);
            Tensor loss;
            if (kl)
            {
                Tensor clean;
                using (no_grad()) clean = model.Forward(x, usePrompts: prompted);
                loss = Losses.KlPerSample(clean, logits).sum();
            }
            else
            {
                loss = Losses.CrossEntropy(logits, y).sum();
            }
            var grad = autograd.grad(new[] { loss }, new[] { input })[0];
            return threat.Project(start + grad.sign() * step, x);
        }

        // TRADES: start x + 0.001 N(0,1), ascend KL(f_0(x) || f_0(.)).
        var trades = Options(ObjectiveKind.Trades, steps: 1).Perturb(model, x, y, seed)!;
        Tensor tradesStart;
        using (var random = new AttackRandom(seed))
            tradesStart = threat.Project(x + random.Normal(x) * 0.001, x);
        var tradesKl = OneStep(tradesStart, prompted: false, kl: true);
        var tradesCe = OneStep(tradesStart, prompted: false, kl: false);
        Assert.True(trades.allclose(tradesKl, rtol: 0, atol: 1e-6));
        Assert.False(trades.allclose(tradesCe, rtol: 0, atol: 1e-6), "the CE step must differ for this test to mean anything");

        // ADAPT-KL: uniform start, ascend CE(f_P(.), y).
        var adapt = Options(ObjectiveKind.AdaptKl, steps: 1).Perturb(model, x, y, seed)!;
        Tensor adaptStart;
        using (var random = new AttackRandom(seed))
            adaptStart = threat.RandomStart(x, random);
        var adaptCe = OneStep(adaptStart, prompted: true, kl: false);
        var adaptKl = OneStep(adaptStart, prompted: true, kl: true);
        Assert.True(adapt.allclose(adaptCe, rtol: 0, atol: 1e-6));
        Assert.False(adapt.allclose(adaptKl, rtol: 0, atol: 1e-6));
    }

    [Theory]
    [InlineData(ObjectiveKind.At, null, false)]
    [InlineData(ObjectiveKind.Trades, null, false)]
    [InlineData(ObjectiveKind.Mart, null, false)]
    [InlineData(ObjectiveKind.Nfgsm, null, false)]
    [InlineData(ObjectiveKind.AdaptCe, null, true)]
    [InlineData(ObjectiveKind.AdaptKl, null, true)]
    [InlineData(ObjectiveKind.At, AttackSource.Adaptive, true)]
    [InlineData(ObjectiveKind.Trades, AttackSource.Adaptive, true)]
    [InlineData(ObjectiveKind.AdaptCe, AttackSource.Agnostic, false)]
    public void OnlyAdaptiveInnerAttacksDependOnThePrompts(ObjectiveKind kind, AttackSource? source, bool adaptive)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModel();
        var (x, y) = Batch();
        var objective = Options(kind, source: source);
        var before = objective.Perturb(model, x, y, seed: 4)!;
        ChangePrompts(model, 1234);
        var after = objective.Perturb(model, x, y, seed: 4)!;
        var same = before.equal(after).all().item<bool>();
        Assert.Equal(!adaptive, same);
    }

    [Fact]
    public void ComputeIsReproducibleForASeed()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModel();
        var (x, y) = Batch();
        var objective = Options(ObjectiveKind.AdaptCe);
        using var a = objective.Compute(model, x, y, seed: 3);
        using var b = objective.Compute(model, x, y, seed: 3);
        using var c = objective.Compute(model, x, y, seed: 4);
        Assert.Equal(a.Loss.ToDouble(), b.Loss.ToDouble());
        Assert.NotEqual(a.Loss.ToDouble(), c.Loss.ToDouble());
    }

    [Fact]
    public void ParsesMethodNamesAndDefaultsPerDataset()
    {
        Assert.Equal(ObjectiveKind.AdaptCe, TrainingObjective.ParseKind("adapt-ce"));
        Assert.Equal(ObjectiveKind.Nfgsm, TrainingObjective.ParseKind("N-FGSM"));
        Assert.Throws<ArgumentException>(() => TrainingObjective.ParseKind("pgd"));
        Assert.Equal(["natural", "at", "trades", "mart", "nfgsm", "adapt-ce", "adapt-kl"], Enum.GetValues<ObjectiveKind>().Select(TrainingObjective.FormatKind));
        Assert.All(Enum.GetValues<ObjectiveKind>(), kind => Assert.Equal(kind, TrainingObjective.ParseKind(TrainingObjective.FormatKind(kind))));
        Assert.Equal(AttackSource.Adaptive, new TrainingObjective(ObjectiveKind.AdaptKl, InnerAttackOptions.Cifar).EffectiveSource);
        Assert.Equal(AttackSource.Agnostic, new TrainingObjective(ObjectiveKind.Trades, InnerAttackOptions.Cifar).EffectiveSource);
        Assert.Equal(8.0 / 255, InnerAttackOptions.ForDataset("cifar10").Epsilon);
        Assert.Equal(0.025, InnerAttackOptions.ForDataset("fashion-mnist").StepSize);
        Assert.Equal(6.0, new TrainingObjective(ObjectiveKind.AdaptCe, InnerAttackOptions.Cifar).Lambda);
    }
}
