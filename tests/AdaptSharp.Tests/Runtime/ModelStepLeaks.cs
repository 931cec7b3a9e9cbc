using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Runtime;

/// <summary>Whether a model's training-style steps leave tensors behind (a custom autograd function that keeps one per call would).</summary>
internal static class ModelStepLeaks
{
    /// <summary>
    /// Steps of an input gradient through the prompted model (an attack step) and of the trainable parameters' gradients
    /// (a training step): after two to warm up, five more leave this thread's count of live tensors where it was.
    /// </summary>
    public static void AssertNone(VisionTransformer model, Tensor images, Tensor labels)
    {
        void Steps(int count)
        {
            for (var i = 0; i < count; i++)
            {
                using var scope = NewDisposeScope();
                var input = images.clone().requires_grad_(true);
                var loss = nn.functional.cross_entropy(model.Forward(input, usePrompts: true), labels);
                autograd.grad([loss], [input]);
                var trainable = model.parameters().Where(p => p.requires_grad).Cast<Tensor>().ToList();
                var outer = nn.functional.cross_entropy(model.Forward(images, usePrompts: true), labels);
                autograd.grad([outer], trainable);
            }
        }
        Steps(2);
        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Steps(5);
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
