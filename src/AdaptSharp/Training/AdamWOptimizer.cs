using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AdaptSharp.Training;

/// <summary>
/// torch.optim.AdamW semantics: p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
/// p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
/// </summary>
public sealed class AdamWOptimizer(IEnumerable<(string Name, Parameter Parameter)> parameters, OptimizerOptions options)
    : ParameterOptimizer(parameters, options)
{
    public const string FirstMomentSlot = "exp_avg";
    public const string SecondMomentSlot = "exp_avg_sq";

    protected override IEnumerable<string> Slots => [FirstMomentSlot, SecondMomentSlot];

    protected override void Update(string name, Parameter parameter, Tensor grad, double lr, double weightDecay)
    {
        var o = Options;
        if (weightDecay != 0)
            parameter.mul_(1.0 - lr * weightDecay);
        var m = Slot(name, FirstMomentSlot, parameter, out _);
        var v = Slot(name, SecondMomentSlot, parameter, out _);
        m.mul_(o.Beta1).add_(grad, alpha: 1.0 - o.Beta1);
        v.mul_(o.Beta2).addcmul_(grad, grad, value: 1.0 - o.Beta2);
        var bias1 = 1.0 - Math.Pow(o.Beta1, StepCount);
        var bias2 = 1.0 - Math.Pow(o.Beta2, StepCount);
        var denominator = v.sqrt().div_(Math.Sqrt(bias2)).add_(o.Epsilon);
        parameter.addcdiv_(m, denominator, value: -lr / bias1);
    }
}
