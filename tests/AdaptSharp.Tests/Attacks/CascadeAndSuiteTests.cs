using AdaptSharp.Attacks;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Attacks;

public class CascadeAndSuiteTests
{
    private static readonly long[] ImageShape = { 1, 4, 4 };

    [Fact]
    public void StandardAutoAttackHasThePublishedSettings()
    {
        var threat = ThreatModel.LInf(8.0 / 255);
        var stages = new AutoAttack(threat).Stages;
        Assert.Equal(new[] { "apgd-ce", "apgd-t", "fab-t", "square" }, stages.Select(s => s.Name));
        var apgd = Assert.IsType<Apgd>(stages[0]);
        Assert.Equal(100, apgd.Options.Iterations);
        Assert.Equal(1, apgd.Options.Restarts);
        var apgdT = Assert.IsType<Apgd>(stages[1]);
        Assert.Equal((9, 100), (apgdT.Options.TargetClasses, apgdT.Options.Iterations));
        var fab = Assert.IsType<Fab>(stages[2]);
        Assert.Equal((9, 100), (fab.Options.TargetClasses, fab.Options.Iterations));
        var square = Assert.IsType<Square>(stages[3]);
        Assert.Equal((5000, 0.8), (square.Options.Queries, square.Options.PInit));
        Assert.All(new AutoAttack(threat, new AutoAttackOptions(AutoAttackVersion.Rand)).Stages, s => Assert.Equal(20, Assert.IsType<Apgd>(s).Options.EotIterations));
        Assert.Equal(6, new AutoAttack(threat, new AutoAttackOptions(AutoAttackVersion.Plus)).Stages.Count);
    }

    [Fact]
    public void CascadeAccuracyNeverRisesAndFlagsAreConsistent()
    {
        using var scope = NewDisposeScope();
        var threat = ThreatModel.LInf(0.06);
        var model = TinyModels.Mlp(16, 24, 10, seed: 111, scale: 2.0);
        var x = TinyModels.Images(40, ImageShape, seed: 112);
        var y = TinyModels.Predict(model, x);
        y[0] = (y[0] + 1) % 10;   // one clean error: never attacked, never robust
        var aa = new AutoAttack(threat, AutoAttackOptions.Custom(new Attack[]
        {
            new Apgd(threat, new ApgdOptions(10), 3, "apgd-ce"),
            new Apgd(threat, new ApgdOptions(10, TargetClasses: 3), 3),
            new Fab(threat, new FabOptions(10, TargetClasses: 3), 3),
            new Square(threat, new SquareOptions(100), seed: 3),
        }) with
        { BatchSize = 16 }, 3);
        var result = aa.Evaluate(model, model, x, y);
        Assert.False(result.CleanCorrect[0]);
        Assert.Equal(39.0 / 40, result.CleanAccuracy);
        Assert.All(result.Stages, s => Assert.False(s.Attacked[0]));
        var previous = result.CleanAccuracy;
        var robust = result.CleanCorrect.ToArray();
        foreach (var stage in result.Stages)
        {
            Assert.True(stage.CumulativeAccuracy <= previous);
            Assert.True(stage.MaxPerturbation <= threat.Eps + ThreatModel.Tolerance);
            // a stage attacks exactly the points robust before it and its flags are the running AND
            Assert.Equal(robust, stage.Attacked);
            robust = robust.Zip(stage.Fooled, (r, f) => r && !f).ToArray();
            Assert.Equal(robust, stage.RobustAfter);
            Assert.Equal(robust.Count(r => r) / 40.0, stage.CumulativeAccuracy);
            previous = stage.CumulativeAccuracy;
        }
        Assert.True(result.RobustAccuracy <= result.Stages[0].CumulativeAccuracy);
        Assert.Equal(result.Stages[^1].RobustAfter, result.Robust);
        Assert.True(result.Stages[0].GradientEvaluations > 0 && result.Stages[3].Queries > 0);
        Assert.False(result.RandomizedOutput);

        // the adversarial images returned by Run break exactly the non-robust clean-correct points
        var (again, adv) = aa.Run(model, model, x, y);
        Assert.Equal(result.Robust, again.Robust);
        var stillRight = TensorOps.ToBools(TinyModels.Predict(model, adv).eq(y));
        Assert.Equal(again.Robust, stillRight.Zip(again.CleanCorrect, (s, c) => s && c).ToArray());
    }

    [Fact]
    public void StandardAutoAttackRunsEndToEnd()
    {
        using var scope = NewDisposeScope();
        var threat = ThreatModel.LInf(0.03);
        var model = TinyModels.Mlp(16, 16, 10, seed: 121, scale: 3.0);
        var x = TinyModels.Images(6, ImageShape, seed: 122);
        var y = TinyModels.Predict(model, x);
        var result = new AutoAttack(threat, seed: 1).Evaluate(model, model, x, y);
        Assert.Equal(4, result.Stages.Count);
        Assert.True(result.RobustAccuracy <= result.Stages[0].CumulativeAccuracy);
        Assert.True(result.RobustAccuracy < 1.0);
    }

    [Fact]
    public void ACancelledAutoAttackStopsBeforeItsNextBatch()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Mlp(16, 16, 10, seed: 121, scale: 3.0);
        var x = TinyModels.Images(6, ImageShape, seed: 122);
        var y = TinyModels.Predict(model, x);
        var calls = 0;
        var counting = new ModelView("counting", images => { calls++; return model.Forward(images); });
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var aa = new AutoAttack(ThreatModel.LInf(0.03), seed: 1);
        Assert.ThrowsAny<OperationCanceledException>(() => aa.Evaluate(counting, counting, x, y, cancelled.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => aa.Run(counting, counting, x, y, cancelled.Token));
        Assert.Equal(0, calls);
    }

    [Fact]
    public void BlackBoxSuccessAfterWhiteBoxFailureIsFlagged()
    {
        using var scope = NewDisposeScope();
        var threat = ThreatModel.LInf(0.2);
        // quantised input: zero gradient everywhere, yet the decision moves with the input
        var w = randn(new long[] { 10, 16 }, generator: new Generator(131));
        var model = new ModelView("quantised", x => (x * 4).floor().div(4).flatten(1).matmul(w.t()));
        var x = TinyModels.Images(8, ImageShape, seed: 132);
        var y = TinyModels.Predict(model, x);
        var aa = new AutoAttack(threat, AutoAttackOptions.Custom(new Fgsm(threat, seed: 1), new Square(threat, new SquareOptions(500), seed: 1)), 1);
        var result = aa.Evaluate(model, model, x, y);
        Assert.Equal(8, result.ZeroGradientPoints);
        Assert.Equal(0, result.Stages[0].FooledCount);
        Assert.True(result.BlackBoxOnlyBreaks > 0);
        Assert.Contains(result.Warnings, m => m.Contains("black-box"));
    }

    [Fact]
    public void RandomisedOutputIsDetected()
    {
        using var scope = NewDisposeScope();
        var threat = ThreatModel.LInf(0.05);
        var f = TinyModels.Mlp(16, 16, 10, seed: 141);
        var g = new Generator(7);
        var noisy = new ModelView("noisy", x => f.Forward(x) + randn(new long[] { x.shape[0], 10 }, generator: g) * 0.01);
        var x = TinyModels.Images(6, ImageShape, seed: 142);
        var y = TinyModels.Predict(f, x);
        var result = new AutoAttack(threat, AutoAttackOptions.Custom(new Fgsm(threat))).Evaluate(noisy, noisy, x, y);
        Assert.True(result.RandomizedOutput);
    }
}
