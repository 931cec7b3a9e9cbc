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

    /// <summary>
    /// Logits of the images; one attack step for <see cref="Runtime.AdaptiveThreads"/>, which may take a forward without
    /// a graph (queries, predictions) in lanes like <see cref="LossAndInputGradient"/>.
    /// </summary>
    public Tensor Forward(Tensor images)
    {
        if (laned is null || is_grad_enabled())
        {
            using var step = Runtime.AdaptiveThreads.BeginStep(images, forward);
            return forward(images);
        }
        Func<int, Tensor[]> run = lanes => [lanes > 1 ? ForwardInLanes(laned, images, lanes) : forward(images)];
        using var laneStep = Runtime.AdaptiveThreads.BeginStep(images, forward, laned, backward: false, run);
        return run(laneStep.Lanes)[0];
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
        Func<int, Tensor[]> run = lanes =>
        {
            var (perImage, gradient, logits) = lanes > 1 ? InLanes(laned!, images, loss, lanes) : Whole(images, loss);
            return [perImage, gradient, logits];
        };
        using var step = Runtime.AdaptiveThreads.BeginStep(images, forward, laned, backward: true, laned is null ? null : run);
        var result = run(step.Lanes);
        return (result[0].MoveToOuterDisposeScope(), result[1].MoveToOuterDisposeScope(), result[2].MoveToOuterDisposeScope());
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

    /// <summary>The body on <paramref name="lanes"/> slices of the batch side by side without a graph, the head on the whole batch.</summary>
    private static Tensor ForwardInLanes(LanedForward laned, Tensor images, int lanes)
    {
        var features = new Tensor?[lanes];
        try
        {
            BodiesInLanes(laned, images, features, inputs: null);
            using var joined = cat(features!, 0);
            return laned.Head(joined);
        }
        finally
        {
            foreach (var t in features)
                t?.Dispose();
        }
    }

    /// <summary>
    /// The body on each lane's slice of the batch, side by side, into <paramref name="features"/>; with
    /// <paramref name="inputs"/>, with a graph from each slice's own leaf input, kept there for the backward. The caller
    /// disposes both (they outlive the lanes' dispose scopes), also when a lane threw.
    /// </summary>
    private static void BodiesInLanes(LanedForward laned, Tensor images, Tensor?[] features, Tensor?[]? inputs) =>
        Runtime.BatchLanes.Run(features.Length, lane =>
        {
            using var scope = NewDisposeScope();
            using var mode = inputs is null ? no_grad() : enable_grad();
            var (start, length) = Slice(images.shape[0], features.Length, lane);
            var input = images.narrow(0, start, length);
            if (inputs is not null)
                input = input.detach().clone().requires_grad_(true);
            features[lane] = laned.Body(input).DetachFromDisposeScope();
            if (inputs is not null)
                inputs[lane] = input.DetachFromDisposeScope();
        });

    /// <summary>Lane <paramref name="lane"/>'s rows of <paramref name="rows"/>: as many as the others, to one.</summary>
    private static (long Start, long Length) Slice(long rows, int lanes, int lane) =>
        (rows * lane / lanes, (rows * (lane + 1) / lanes) - (rows * lane / lanes));

    /// <summary>
    /// The body's forward on <paramref name="lanes"/> slices of the batch side by side, the head and the loss on the
    /// whole batch on this thread, then the body's backward from the head's gradient, slice by slice side by side again.
    /// </summary>
    private static (Tensor Loss, Tensor Gradient, Tensor Logits) InLanes(LanedForward laned, Tensor images, Func<Tensor, Tensor> loss, int lanes)
    {
        var inputs = new Tensor?[lanes];
        var features = new Tensor?[lanes];
        var gradients = new Tensor?[lanes];
        try
        {
            BodiesInLanes(laned, images, features, inputs);
            using var scope = NewDisposeScope();
            using var grad = enable_grad();
            var joined = cat(features!, 0);
            var logits = laned.Head(joined);
            var perImage = loss(logits);
            var fromHead = autograd.grad([perImage.sum()], [joined])[0];
            Runtime.BatchLanes.Run(lanes, lane =>
            {
                using var laneScope = NewDisposeScope();
                var (start, length) = Slice(images.shape[0], lanes, lane);
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
