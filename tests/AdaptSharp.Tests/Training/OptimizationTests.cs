using AdaptSharp.Training;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using OptimizerOptions = AdaptSharp.Training.OptimizerOptions;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Training;

public class OptimizationTests
{
    private static (Parameter Ours, Parameter Reference) Pair(long seed)
    {
        var g = new Generator((ulong)seed);
        var init = randn(new long[] { 3, 4 }, generator: g);
        return (new Parameter(init.clone()), new Parameter(init.clone()));
    }

    private static void RunAgainstTorch(OptimizerOptions options, Func<Parameter, optim.Optimizer> reference, double lr)
    {
        var (ours, theirs) = Pair(1);
        var bias = new Parameter(zeros(4));
        using var ourOptimizer = ParameterOptimizer.Create(new[] { ("w", ours) }, options);
        var torchOptimizer = reference(theirs);
        var g = new Generator(5);
        for (var step = 0; step < 5; step++)
        {
            var grad = randn(new long[] { 3, 4 }, generator: g);
            ours.grad = grad.clone();
            theirs.grad = grad.clone();
            ourOptimizer.Step(lr);
            torchOptimizer.step();
        }
        Assert.True(ours.allclose(theirs, rtol: 1e-5, atol: 1e-6), "our update must match torch.optim");
        bias.Dispose();
    }

    [Fact]
    public void SgdMatchesTorchOptimSgd() =>
        RunAgainstTorch(OptimizerOptions.Sgd(0.9, 1e-2), p => optim.SGD(new[] { p }, 0.1, momentum: 0.9, weight_decay: 1e-2), 0.1);

    [Fact]
    public void AdamWMatchesTorchOptimAdamW() =>
        RunAgainstTorch(new OptimizerOptions { Kind = OptimizerKind.AdamW, WeightDecay = 0.05 },
            p => optim.AdamW(new[] { p }, 0.01, weight_decay: 0.05), 0.01);

    [Fact]
    public void OptimizerStateRoundTripsAndRejectsForeignState()
    {
        var (p, _) = Pair(2);
        using var a = ParameterOptimizer.Create(new[] { ("w", p) }, OptimizerOptions.AdamW());
        p.grad = ones_like(p);
        a.Step(0.1);
        var state = a.StateTensors().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        Assert.Contains("optim.w.exp_avg", state.Keys);
        Assert.Contains("optim.w.exp_avg_sq", state.Keys);
        using var b = ParameterOptimizer.Create(new[] { ("w", p) }, OptimizerOptions.AdamW());
        b.LoadState(state, a.StepCount);
        Assert.Equal(1, b.StepCount);
        Assert.True(b.StateTensors()["optim.w.exp_avg"].equal(state["optim.w.exp_avg"]).all().item<bool>());
        Assert.Throws<ArgumentException>(() => b.LoadState(new Dictionary<string, Tensor> { ["optim.other.exp_avg"] = zeros(3, 4) }, 1));
    }

    [Fact]
    public void ClippingBoundsTheGlobalNormAndScalesEveryGradientByTheSameFactor()
    {
        var a = new Parameter(zeros(2, 2));
        var prompts = new Parameter(zeros(3));
        a.grad = full(new long[] { 2, 2 }, 3.0);    // norm 6
        prompts.grad = full(new long[] { 3 }, 8.0 / Math.Sqrt(3)); // norm 8 -> total 10
        var before = GradientClipping.ClipGlobalNorm(new[] { a, prompts }, 1.0);
        Assert.Equal(10.0, before, 4);
        Assert.Equal(1.0, GradientClipping.GlobalNorm(new[] { a, prompts }), 4);
        Assert.Equal(0.8, prompts.grad!.norm().ToDouble(), 4);
        Assert.Equal(0.6, a.grad!.norm().ToDouble(), 4);
        // Below the bound nothing changes.
        GradientClipping.ClipGlobalNorm(new[] { a, prompts }, 5.0);
        Assert.Equal(1.0, GradientClipping.GlobalNorm(new[] { a, prompts }), 4);
    }

    [Fact]
    public void OneCycleRisesLinearlyToThePeakAndFallsToZero()
    {
        var s = LearningRateSchedule.OneCycle(1.0);
        const long total = 100;
        Assert.Equal(0.01, s.At(0, total), 9);
        Assert.Equal(0.99, s.At(49, total), 9);
        Assert.Equal(0.99, s.At(50, total), 9);
        Assert.Equal(0.01, s.At(99, total), 9);
        Assert.Equal(s.At(10, total) - s.At(9, total), s.At(20, total) - s.At(19, total), 9);
    }

    [Fact]
    public void CosineWarmsUpThenDecaysAndDropsMultiply()
    {
        var c = LearningRateSchedule.Cosine(2.0, warmupFraction: 0.1);
        Assert.Equal(0.2, c.At(0, 100), 9);
        Assert.Equal(2.0, c.At(9, 100), 9);
        Assert.True(c.At(10, 100) <= 2.0 && c.At(10, 100) > 1.99);
        Assert.Equal(1.0, c.At(55, 100), 1);
        Assert.True(c.At(99, 100) < 0.001);

        var d = LearningRateSchedule.Parse("drops:0.5,0.8", 1.0);
        Assert.Equal(1.0, d.At(10, 100), 9);
        Assert.Equal(0.1, d.At(60, 100), 9);
        Assert.Equal(0.01, d.At(90, 100), 9);
        Assert.Throws<ArgumentException>(() => LearningRateSchedule.Parse("warp", 1.0));
    }
}
