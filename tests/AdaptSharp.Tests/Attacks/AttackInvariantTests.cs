using AdaptSharp.Attacks;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Attacks;

/// <summary>Invariants every attack must satisfy.</summary>
public class AttackInvariantTests
{
    private static readonly long[] ImageShape = { 1, 4, 4 };

    /// <summary>Every attack with small budgets so the tests stay fast.</summary>
    internal static IReadOnlyList<Attack> AllAttacks(ThreatModel threat, long seed = 0) => new Attack[]
    {
        new Fgsm(threat, seed: seed),
        new Fgsm(threat, FgsmOptions.PaperEvaluation(threat), seed, "fgsm-rs"),
        new Pgd(threat, new PgdOptions(10, Restarts: 2), seed),
        new CwSpec(10).Create(threat, seed),
        new Apgd(threat, new ApgdOptions(20), seed, "apgd-ce"),
        new Apgd(threat, new ApgdOptions(20, Loss: Losses.Dlr), seed, "apgd-dlr"),
        new Apgd(threat, new ApgdOptions(10, TargetClasses: 3), seed),
        new Fab(threat, new FabOptions(20, TargetClasses: 3), seed),
        new Fab(threat, new FabOptions(20, 2), seed),
        new Square(threat, new SquareOptions(300, 0.8), seed),
        new Rays(threat, new RaysOptions(400), seed),
        new AutoAttack(threat, AutoAttackOptions.Custom(new Apgd(threat, new ApgdOptions(10), seed), new Square(threat, new SquareOptions(50), seed)), seed),
    };

    [Fact]
    public void EveryAttackStaysInTheBallAndTheBox()
    {
        using var scope = NewDisposeScope();
        var threat = ThreatModel.LInf(0.1);
        var model = TinyModels.Mlp(16, 24, 10, seed: 51, scale: 2.0);
        // include pixels at the box edges so clipping binds
        var x = TinyModels.Images(12, ImageShape, seed: 52).round().mul(0.9).add(TinyModels.Images(12, ImageShape, seed: 53) * 0.1);
        var y = TinyModels.Predict(model, x);
        foreach (var attack in AllAttacks(threat))
        {
            var adv = attack.Perturb(model, x, y);
            Assert.Equal(x.shape, adv.shape);
            var norm = threat.Validate(adv, x);
            Assert.True(norm <= threat.Eps + ThreatModel.Tolerance, attack.Name);
            Assert.True(attack.GradientEvaluations + attack.Queries > 0, attack.Name);
        }
    }

    [Fact]
    public void L2AttacksStayInTheBallAndTheBoxAndBreakPoints()
    {
        using var scope = NewDisposeScope();
        var threat = ThreatModel.L2(1.0);
        var model = TinyModels.Mlp(64, 24, 10, seed: 55, scale: 2.0);
        var x = TinyModels.Images(8, new long[] { 1, 8, 8 }, seed: 56);
        var y = TinyModels.Predict(model, x);
        var attacks = new Attack[]
        {
            new Fgsm(threat), new Pgd(threat, new PgdOptions(10)), new Apgd(threat, new ApgdOptions(20)),
            new Apgd(threat, new ApgdOptions(10, TargetClasses: 3)), new Fab(threat, new FabOptions(20, TargetClasses: 3)), new Fab(threat, new FabOptions(20)),
            new Square(threat, new SquareOptions(300)),
            new AutoAttack(threat, AutoAttackOptions.Custom(new Apgd(threat, new ApgdOptions(10)), new Square(threat, new SquareOptions(100))), 1),
        };
        foreach (var attack in attacks)
        {
            var adv = attack.Perturb(model, x, y);
            Assert.True(threat.Validate(adv, x) <= 1.0 + ThreatModel.Tolerance, attack.Name);
            Assert.True(TinyModels.Predict(model, adv).ne(y).any().item<bool>(), $"{attack.Name} broke nothing at L2 eps 1");
        }
        Assert.Throws<NotSupportedException>(() => new Rays(threat));
    }

    [Fact]
    public void AModelThatIgnoresItsInputIsRobustToEverything()
    {
        using var scope = NewDisposeScope();
        var threat = ThreatModel.LInf(0.3);
        var model = TinyModels.Constant(new float[] { 0, 0, 3, 1, 0, -1, 0, 0, 2, 0 });
        var x = TinyModels.Images(6, ImageShape, seed: 61);
        var y = full(6, 2L);
        foreach (var attack in AllAttacks(threat))
        {
            var adv = attack.Perturb(model, x, y);
            threat.Validate(adv, x);
            Assert.True(TinyModels.Predict(model, adv).eq(y).all().item<bool>(), attack.Name);
        }
        var aa = new AutoAttack(threat, AutoAttackOptions.Custom(new Apgd(threat, new ApgdOptions(5))));
        var result = aa.Evaluate(model, model, x, y);
        Assert.Equal(1.0, result.RobustAccuracy);
        Assert.Equal(6, result.ZeroGradientPoints);
        Assert.Contains(result.Warnings, w => w.Contains("zero input gradient"));
    }

    /// <summary>Class 0 beats class 1 by 1e-3 and pixel 0 (= 0.5 in every image) moves the margin steeply.</summary>
    private static (ModelView Model, Tensor X, Tensor Y) ZeroMarginProblem()
    {
        var others = -0.1f * arange(1, 10, dtype: ScalarType.Float32);
        var model = new ModelView("knife-edge", x =>
        {
            var u = (x.flatten(1).select(1, 0) - 0.5) * 100.0 - 0.1 + 1e-3;
            return cat(new[] { u.unsqueeze(1), others.unsqueeze(0).expand(x.shape[0], -1) }, 1);
        });
        var x = TinyModels.Images(6, ImageShape, seed: 71);
        x.flatten(1).select(1, 0).fill_(0.5);
        return (model, x, zeros(6, dtype: ScalarType.Int64));
    }

    [Fact]
    public void AModelWithZeroMarginIsBrokenByEverything()
    {
        using var scope = NewDisposeScope();
        var threat = ThreatModel.LInf(0.05);
        var (model, x, y) = ZeroMarginProblem();
        Assert.True(TinyModels.Predict(model, x).eq(y).all().item<bool>());
        foreach (var attack in AllAttacks(threat))
        {
            var adv = attack.Perturb(model, x, y);
            threat.Validate(adv, x);
            Assert.True(TinyModels.Predict(model, adv).ne(y).all().item<bool>(), attack.Name);
        }
    }

    [Fact]
    public void RobustAccuracyDoesNotIncreaseWithEps()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Mlp(16, 32, 10, seed: 81, scale: 2.0);
        var x = TinyModels.Images(60, ImageShape, seed: 82);
        var y = TinyModels.Predict(model, x);
        var previous = 1.0;
        foreach (var eps in new[] { 0.0, 0.01, 0.03, 0.1, 0.3, 0.5 })
        {
            var threat = ThreatModel.LInf(eps);
            var adv = new Apgd(threat, new ApgdOptions(30), seed: 1).Perturb(model, x, y);
            var accuracy = TinyModels.Predict(model, adv).eq(y).to_type(ScalarType.Float32).mean().ToDouble();
            Assert.True(accuracy <= previous + 1e-9, $"eps {eps}: {accuracy} > {previous}");
            previous = accuracy;
        }
        Assert.True(previous < 0.05, "at eps 0.5 nearly every point should fall");
    }

    [Fact]
    public void AdaptiveAndAgnosticAttacksDiffer()
    {
        using var scope = NewDisposeScope();
        var threat = ThreatModel.LInf(0.1);
        var f0 = TinyModels.Mlp(16, 24, 10, seed: 91, scale: 3.0);
        // a bias on the label's logit alone only rescales the CE gradient (same signs), so shift several classes
        var shift = tensor(new float[] { 0, 1.5f, -1, 2, 0, 0.5f, -2, 0, 1, 0 });
        var fP = new ModelView("f_P", x => f0.Forward(x) + shift);
        var x = TinyModels.Images(16, ImageShape, seed: 92);
        var y = TinyModels.Predict(fP, x);
        Assert.False(TinyModels.Predict(f0, x).eq(y).all().item<bool>(), "the prompt-like bias must change some prediction");
        foreach (var make in new Func<Attack>[]
                 {
                     () => new Pgd(threat, new PgdOptions(10), seed: 5),
                     () => new Apgd(threat, new ApgdOptions(10), seed: 5),
                 })
        {
            var adaptive = make().Perturb(fP, x, y);
            var agnostic = make().Perturb(f0, x, y);
            Assert.True((adaptive - agnostic).abs().max().ToDouble() > 1e-3);
            // and the same view with the same seed reproduces itself
            Assert.Equal(0.0, (adaptive - make().Perturb(fP, x, y)).abs().max().ToDouble());
        }
    }

    [Fact]
    public void EveryCallReseedsWithTheAttackSeed()
    {
        using var scope = NewDisposeScope();
        var threat = ThreatModel.LInf(0.1);
        var model = TinyModels.Mlp(16, 24, 10, seed: 95);
        var x = TinyModels.Images(8, ImageShape, seed: 96);
        var y = TinyModels.Predict(model, x);
        // one step of size 0 returns the random start itself
        var fixedSeed = new Pgd(threat, new PgdOptions(1, StepSize: 0.0));
        Assert.Equal(0.0, (fixedSeed.Perturb(model, x, y) - fixedSeed.Perturb(model, x, y)).abs().max().ToDouble());
    }
}
