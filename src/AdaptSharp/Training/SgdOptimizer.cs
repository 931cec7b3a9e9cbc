using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AdaptSharp.Training;

/// <summary>
/// torch.optim.SGD semantics: g = grad + wd * p; buf = g on the first step, else momentum * buf + g;
/// p -= lr * buf.
/// </summary>
public sealed class SgdOptimizer(IEnumerable<(string Name, Parameter Parameter)> parameters, OptimizerOptions options)
    : ParameterOptimizer(parameters, options)
{
    public const string MomentumSlot = "momentum";

    protected override IEnumerable<string> Slots => Options.Momentum != 0 ? [MomentumSlot] : [];

    protected override void Update(string name, Parameter parameter, Tensor grad, double lr, double weightDecay)
    {
        var g = weightDecay != 0 ? grad.add(parameter, alpha: weightDecay) : grad;
        if (Options.Momentum != 0)
        {
            var buffer = Slot(name, MomentumSlot, parameter, out var created);
            if (created) buffer.copy_(g);
            else buffer.mul_(Options.Momentum).add_(g);
            g = buffer;
        }
        parameter.add_(g, alpha: -lr);
    }
}
