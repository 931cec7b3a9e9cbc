using System.Runtime.Intrinsics.X86;
using AdaptSharp.Models;
using AdaptSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Runtime;

[Collection(GemmRoutingCollection.Name)]
public sealed class ShortSequenceAttentionTests
{
    /// <summary>
    /// The vectorised attention of short sequences against float64 arithmetic: the merged heads and the gradient of the
    /// packed input within float32 rounding of their magnitudes, and the same bits at every thread count and without
    /// autograd. The shapes cover the demo model's (21 tokens, 4 heads of 12), a single token, the longest taken (64: eight
    /// whole vectors of queries), token counts that leave padding lanes, and head sizes that are not a multiple of four.
    /// </summary>
    [Theory]
    [InlineData(3, 21, 4, 12)]
    [InlineData(2, 64, 3, 5)]
    [InlineData(2, 1, 1, 7)]
    [InlineData(2, 9, 1, 3)]
    [InlineData(1, 25, 4, 16)]
    public void ItAndItsGradientAreRightAndTheSameAtEveryThreadCount(int batch, int tokens, int heads, int dim)
    {
        if (!Fma.IsSupported)
            return; // this CPU takes libtorch's attention (SelfAttention); nothing of this function runs
        using var scope = NewDisposeScope();
        var width = heads * dim;
        var g = new Generator(17);
        // Scores of a few units, as trained prompts give (a softmax far from uniform), and output weights of order one.
        var packed = randn(batch, tokens, 3 * width, generator: g) * 2;
        var weights = randn(batch, tokens, width, generator: g);
        Assert.True(ShortSequenceAttentionFunction.Takes(packed, heads));
        PackedAttentionReference.AssertMatches(input => ShortSequenceAttentionFunction.Apply(input, heads), packed, weights, heads, "short-sequence attention");
    }

    [Fact]
    public void ItTakesShortFloat32SequencesOnTheCpuOnly()
    {
        if (!Fma.IsSupported)
        {
            Assert.False(ShortSequenceAttentionFunction.Takes(empty(4, 21, 3 * 48), heads: 4));
            return;
        }
        Assert.True(ShortSequenceAttentionFunction.Takes(empty(4, 21, 3 * 48), heads: 4));
        Assert.True(ShortSequenceAttentionFunction.Takes(empty(4, ShortSequenceAttentionFunction.MaxTokens, 3 * 48), heads: 4));
        Assert.False(ShortSequenceAttentionFunction.Takes(empty(4, ShortSequenceAttentionFunction.MaxTokens + 1, 3 * 48), heads: 4));
        Assert.False(ShortSequenceAttentionFunction.Takes(empty(4, 21, 3 * 48, dtype: float64), heads: 4));
        Assert.False(ShortSequenceAttentionFunction.Takes(empty(4, 21, 3 * 48), heads: 5)); // 48 is not 5 heads
    }

    /// <summary>Training-style steps through a model that takes it (input and parameter gradients) leave no tensor alive.</summary>
    [Fact]
    public void StepsThroughItLeaveNoTensorAlive()
    {
        var config = ModelPresets.Get("vit-fmnist-cpu-d8");
        using var model = new VisionTransformer(config, PromptConfig.Parse("deep:4"));
        model.SetTrainable(TrainableSet.Prompts | TrainableSet.Head);
        using var images = rand(4, config.InChannels, config.ImageSize, config.ImageSize, generator: new Generator(5));
        using var labels = randint(0, config.NumClasses, [4], generator: new Generator(6));
        ModelStepLeaks.AssertNone(model, images, labels);
    }
}
