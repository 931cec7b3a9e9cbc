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

    /// <summary>
    /// Five steps with a different learning rate each on a matrix and a bias, against the update rule written out in
    /// float64 (<paramref name="update"/> gets the step number, lr, weight decay, parameter, gradient and slot arrays).
    /// </summary>
    private static void RunAgainstFloat64(OptimizerOptions options, Action<int, double, double, double[], double[], double[], double[]> update)
    {
        var weight = new Parameter(randn(new long[] { 3, 4 }, generator: new Generator(1)));
        var bias = new Parameter(randn(new long[] { 4 }, generator: new Generator(2)));
        var parameters = new[] { ("blocks.0.w", weight), ("blocks.0.bias", bias) };
        using var optimizer = new ParameterOptimizer(parameters, options);
        var reference = parameters.Select(p => (Value: p.Item2.data<float>().Select(v => (double)v).ToArray(),
            Slot1: new double[p.Item2.numel()], Slot2: new double[p.Item2.numel()],
            Decay: options.SkipDecayOnNormsAndBiases && p.Item2.dim() <= 1 ? 0.0 : options.WeightDecay)).ToArray();
        var g = new Generator(5);
        for (var step = 1; step <= 5; step++)
        {
            var lr = 0.02 * step;
            for (var i = 0; i < parameters.Length; i++)
            {
                var grad = randn(parameters[i].Item2.shape, generator: g);
                parameters[i].Item2.grad = grad;
                update(step, lr, reference[i].Decay, reference[i].Value, grad.data<float>().Select(v => (double)v).ToArray(),
                    reference[i].Slot1, reference[i].Slot2);
            }
            optimizer.Step(lr);
        }
        for (var i = 0; i < parameters.Length; i++)
        {
            var ours = parameters[i].Item2.data<float>().ToArray();
            for (var j = 0; j < ours.Length; j++)
            {
                // float32 state and arithmetic over 5 steps: a few ulps of the values involved.
                var tolerance = 1e-5 * (1 + Math.Abs(reference[i].Value[j]));
                Assert.True(Math.Abs(ours[j] - reference[i].Value[j]) <= tolerance,
                    $"{parameters[i].Item1}[{j}]: {ours[j]} vs float64 {reference[i].Value[j]}");
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SgdFollowsTheMomentumUpdateWithPerStepRatesAndDecayGroups(bool skipDecayOnBiases) =>
        RunAgainstFloat64(OptimizerOptions.Sgd(0.9, 1e-2) with { SkipDecayOnNormsAndBiases = skipDecayOnBiases },
            (step, lr, wd, p, grad, buffer, _) =>
            {
                for (var j = 0; j < p.Length; j++)
                {
                    var d = grad[j] + wd * p[j];
                    buffer[j] = step == 1 ? d : 0.9 * buffer[j] + d;
                    p[j] -= lr * buffer[j];
                }
            });

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AdamWFollowsTheDecoupledUpdateWithPerStepRatesAndDecayGroups(bool skipDecayOnBiases) =>
        RunAgainstFloat64(OptimizerOptions.AdamW(0.05) with { SkipDecayOnNormsAndBiases = skipDecayOnBiases },
            (step, lr, wd, p, grad, m, v) =>
            {
                for (var j = 0; j < p.Length; j++)
                {
                    p[j] *= 1 - lr * wd;
                    m[j] = 0.9 * m[j] + 0.1 * grad[j];
                    v[j] = 0.999 * v[j] + 0.001 * grad[j] * grad[j];
                    var denominator = Math.Sqrt(v[j]) / Math.Sqrt(1 - Math.Pow(0.999, step)) + 1e-8;
                    p[j] -= lr / (1 - Math.Pow(0.9, step)) * m[j] / denominator;
                }
            });

    [Fact]
    public void OptimizerStateRoundTripsAndRejectsForeignState()
    {
        var (p, _) = Pair(2);
        using var a = new ParameterOptimizer(new[] { ("w", p) }, OptimizerOptions.AdamW());
        p.grad = ones_like(p);
        a.Step(0.1);
        var state = a.StateTensors().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        Assert.Contains("optim.w.exp_avg", state.Keys);
        Assert.Contains("optim.w.exp_avg_sq", state.Keys);
        using var b = new ParameterOptimizer(new[] { ("w", p) }, OptimizerOptions.AdamW());
        b.LoadState(state, a.StepCount);
        Assert.Equal(1, b.StepCount);
        Assert.True(b.StateTensors()["optim.w.exp_avg"].equal(state["optim.w.exp_avg"]).all().item<bool>());
        Assert.Throws<ArgumentException>(() => b.LoadState(new Dictionary<string, Tensor> { ["optim.other.exp_avg"] = zeros(3, 4) }, 1));
    }

    private static double GlobalNorm(params Parameter[] parameters) =>
        Math.Sqrt(parameters.Sum(p => p.grad!.square().sum().ToDouble()));

    [Fact]
    public void ClippingBoundsTheGlobalNormAndScalesEveryGradientByTheSameFactor()
    {
        // The trainer's clipping: torch.nn.utils.clip_grad_norm_ over every trainable, prompts included.
        var a = new Parameter(zeros(2, 2));
        var prompts = new Parameter(zeros(3));
        a.grad = full(new long[] { 2, 2 }, 3.0);    // norm 6
        prompts.grad = full(new long[] { 3 }, 8.0 / Math.Sqrt(3)); // norm 8 -> total 10
        var before = nn.utils.clip_grad_norm_(new[] { a, prompts }, 1.0);
        Assert.Equal(10.0, before, 4);
        Assert.Equal(1.0, GlobalNorm(a, prompts), 4);
        Assert.Equal(0.8, prompts.grad!.norm().ToDouble(), 4);
        Assert.Equal(0.6, a.grad!.norm().ToDouble(), 4);
        // Below the bound nothing changes.
        nn.utils.clip_grad_norm_(new[] { a, prompts }, 5.0);
        Assert.Equal(1.0, GlobalNorm(a, prompts), 4);
        // Without a clip norm (+inf) the trainer only reads the norm: the gradients stay bit for bit.
        var (copyA, copyPrompts) = (a.grad!.clone(), prompts.grad!.clone());
        Assert.Equal(1.0, nn.utils.clip_grad_norm_(new[] { a, prompts }, double.PositiveInfinity), 4);
        Assert.True(a.grad!.equal(copyA).all().item<bool>() && prompts.grad!.equal(copyPrompts).all().item<bool>());
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
