using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Models;

/// <summary>
/// What an attack sees of a model: images in [0,1] (N,C,H,W) in, logits (N,K) out.
/// Whether an attack is adaptive is only a matter of which view it is handed
/// (the prompted model f_P, or the same network without prompts f_0).
/// </summary>
public sealed class ModelView
{
    private readonly Func<Tensor, Tensor> forward;
    private readonly LanedForward? laned;

    public ModelView(string name, Func<Tensor, Tensor> forward)
    {
        Name = name;
        this.forward = forward;
    }

    /// <summary>A view whose forward is also given as a body and a head, so that its attack steps may run in lanes.</summary>
    internal ModelView(string name, Func<Tensor, Tensor> forward, LanedForward laned)
        : this(name, forward)
    {
        this.laned = laned;
    }

    public string Name { get; }

    /// <summary>Logits of the images; one attack step for <see cref="Runtime.AdaptiveThreads"/>.</summary>
    public Tensor Forward(Tensor images)
    {
        using var step = Runtime.AdaptiveThreads.BeginStep(images, forward);
        return forward(images);
    }

    /// <summary>
    /// The per-image <paramref name="loss"/> of the logits, the gradient of its sum with respect to the images, and the
    /// logits, all detached: one attack step for <see cref="Runtime.AdaptiveThreads"/>, which may take the batch in
    /// slices side by side (<see cref="Runtime.BatchLanes"/>) when the view gives its forward in two parts; the same bits
    /// either way (checked before the first such step).
    /// </summary>
    public (Tensor Loss, Tensor Gradient, Tensor Logits) LossAndInputGradient(Tensor images, Func<Tensor, Tensor> loss)
    {
        using var scope = NewDisposeScope();
        Func<int, (Tensor, Tensor, Tensor)> run = lanes => lanes > 1 ? InLanes(laned!, images, loss, lanes) : Whole(images, loss);
        using var step = Runtime.AdaptiveThreads.BeginStep(images, forward, laned?.Key, laned is null ? null : run);
        var (perImage, gradient, logits) = run(step.Lanes);
        return (perImage.MoveToOuterDisposeScope(), gradient.MoveToOuterDisposeScope(), logits.MoveToOuterDisposeScope());
    }

    private (Tensor Loss, Tensor Gradient, Tensor Logits) Whole(Tensor images, Func<Tensor, Tensor> loss)
    {
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        var input = images.detach().clone().requires_grad_(true);
        var logits = forward(input);
        var perImage = loss(logits);
        var gradient = autograd.grad([perImage.sum()], [input])[0];
        return (perImage.detach().MoveToOuterDisposeScope(), gradient.detach().MoveToOuterDisposeScope(),
            logits.detach().MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The body's forward on <paramref name="lanes"/> slices of the batch side by side, the head and the loss on the
    /// whole batch on this thread, then the body's backward from the head's gradient, slice by slice side by side again.
    /// </summary>
    private static (Tensor Loss, Tensor Gradient, Tensor Logits) InLanes(LanedForward laned, Tensor images, Func<Tensor, Tensor> loss, int lanes)
    {
        var n = images.shape[0];
        var inputs = new Tensor?[lanes];
        var features = new Tensor?[lanes];
        var gradients = new Tensor?[lanes];
        (long Start, long Length) Slice(int lane) => (n * lane / lanes, (n * (lane + 1) / lanes) - (n * lane / lanes));
        try
        {
            // Each lane's tensors outlive its thread's dispose scope until the backward; they are disposed below.
            Runtime.BatchLanes.Run(lanes, lane =>
            {
                using var scope = NewDisposeScope();
                using var grad = enable_grad();
                var (start, length) = Slice(lane);
                var input = images.narrow(0, start, length).detach().clone().requires_grad_(true);
                features[lane] = laned.Body(input).DetachFromDisposeScope();
                inputs[lane] = input.DetachFromDisposeScope();
            });
            using var scope = NewDisposeScope();
            using var grad = enable_grad();
            var joined = cat(features!, 0);
            var logits = laned.Head(joined);
            var perImage = loss(logits);
            var fromHead = autograd.grad([perImage.sum()], [joined])[0];
            Runtime.BatchLanes.Run(lanes, lane =>
            {
                using var laneScope = NewDisposeScope();
                var (start, length) = Slice(lane);
                gradients[lane] = autograd.grad([features[lane]!], [inputs[lane]!], [fromHead.narrow(0, start, length)])[0]
                    .DetachFromDisposeScope();
            });
            return (perImage.detach().MoveToOuterDisposeScope(), cat(gradients!, 0).MoveToOuterDisposeScope(),
                logits.detach().MoveToOuterDisposeScope());
        }
        finally
        {
            foreach (var t in inputs.Concat(features).Concat(gradients))
                t?.Dispose();
        }
    }
}
