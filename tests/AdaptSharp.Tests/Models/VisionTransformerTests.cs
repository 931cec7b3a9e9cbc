using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Models;

public class VisionTransformerTests
{
    internal static VitConfig Tiny(int classes = 5) => new()
    {
        Name = "test-tiny",
        ImageSize = 8,
        PatchSize = 4,
        InChannels = 3,
        Width = 16,
        Depth = 2,
        Heads = 2,
        MlpRatio = 2,
        NumClasses = classes,
    };

    private static Tensor Images(int n = 3, long seed = 1)
    {
        var g = new Generator((ulong)seed);
        return rand(new long[] { n, 3, 8, 8 }, generator: g);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("shallow:3")]
    [InlineData("deep:4")]
    public void ForwardGivesLogitsForEveryPromptMode(string prompts)
    {
        using var model = new VisionTransformer(Tiny(), PromptConfig.Parse(prompts), seed: 3);
        using var x = Images();
        using var logits = model.forward(x);
        Assert.Equal(new long[] { 3, 5 }, logits.shape);
        using var features = model.ForwardFeatures(x, true);
        Assert.Equal(new long[] { 3, 16 }, features.shape);
    }

    [Fact]
    public void PromptsChangeTheOutputAndUnpromptedViewIgnoresThem()
    {
        using var prompted = new VisionTransformer(Tiny(), PromptConfig.Parse("deep:4"), seed: 3);
        using var plain = new VisionTransformer(Tiny(), PromptConfig.None, seed: 3);
        using var x = Images();
        using var withPrompts = prompted.Prompted.Forward(x);
        using var without = prompted.Unprompted.Forward(x);
        using var reference = plain.forward(x);
        Assert.True(withPrompts.sub(without).abs().max().item<float>() > 1e-4);
        // Same seed gives the same backbone weights, so f_0 equals the prompt-free model.
        Assert.True(without.allclose(reference, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void DeepPromptsReplaceThePreviousBlocksPromptOutputs()
    {
        // With block 0 the identity, block-0 prompts would reach block 1 unchanged if they were kept.
        // Replacement must discard them.
        using var model = new VisionTransformer(Tiny(), PromptConfig.Parse("deep:4"), seed: 5);
        SilenceBlockZero(model);
        using var x = Images();
        using var before = model.forward(x);
        using (no_grad()) model.PromptTokens![0].add_(randn(4, 16) * 3.0);
        using var afterSet0 = model.forward(x);
        Assert.True(before.allclose(afterSet0, rtol: 0, atol: 1e-5), "block-0 prompts leaked past block 0");
        using (no_grad()) model.PromptTokens![1].add_(randn(4, 16) * 3.0);
        using var afterSet1 = model.forward(x);
        Assert.True(before.sub(afterSet1).abs().max().item<float>() > 1e-3, "block-1 prompts had no effect");
    }

    /// <summary>Zeroes block 0's residual branches, making that block the identity.</summary>
    private static void SilenceBlockZero(VisionTransformer model)
    {
        using var _ = no_grad();
        foreach (var (name, p) in model.named_parameters())
            if (name.StartsWith("blocks.0.attn.proj.") || name.StartsWith("blocks.0.mlp.fc2."))
                p.zero_();
    }

    [Fact]
    public void ShallowPromptsTravelThroughAllBlocks()
    {
        using var model = new VisionTransformer(Tiny(), PromptConfig.Parse("shallow:4"), seed: 5);
        SilenceBlockZero(model);
        using var x = Images();
        using var before = model.forward(x);
        using (no_grad()) model.PromptTokens![0].add_(randn(4, 16) * 3.0);
        using var after = model.forward(x);
        Assert.True(before.sub(after).abs().max().item<float>() > 1e-3);
    }

    [Fact]
    public void GradientsReachTrainableSetOnlyAndTheInput()
    {
        using var model = new VisionTransformer(Tiny(), PromptConfig.Parse("deep:2"), seed: 1);
        model.SetTrainable(TrainableSet.Prompts | TrainableSet.Head);
        using var x = Images().requires_grad_(true);
        using var loss = model.forward(x).square().sum();
        loss.backward();
        foreach (var (name, p) in model.named_parameters())
        {
            var trainable = name == VisionTransformer.PromptParameterName || name.StartsWith("head.");
            Assert.Equal(trainable, p.requires_grad);
            if (trainable)
                Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, $"no gradient on {name}");
            else
                Assert.True(p.grad is null, $"frozen {name} got a gradient");
        }
        Assert.True(x.grad is not null && x.grad.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void NormalizationIsInsideTheModelAndNotInTheStateDict()
    {
        var config = Tiny() with { Mean = [0.1f, 0.2f, 0.3f], Std = [0.5f, 0.25f, 2f] };
        using var model = new VisionTransformer(config, PromptConfig.None, seed: 2);
        Assert.DoesNotContain(model.state_dict().Keys, k => k.StartsWith("normalization"));
        Assert.Contains("blocks.1.attn.qkv.weight", model.state_dict().Keys);
        Assert.Equal(new long[] { 48, 16 }, model.state_dict()["blocks.1.attn.qkv.weight"].shape);
    }

    [Fact]
    public void VitBaseParameterCountsMatchThePaper()
    {
        var config = ModelPresets.Get("vit-base-patch16", numClasses: 10);
        using var model = new VisionTransformer(config, PromptConfig.Parse("deep:25"));
        model.SetTrainable(TrainableSets.Parse("head,patch"));
        var count = model.CountParameters();
        Assert.Equal(828_682, count.Trainable);
        Assert.Equal(86_036_746, count.Total);
        Assert.Equal(230_400, count.Prompts);
        Assert.Equal(0.963, Math.Round(count.TrainablePercent, 3));
        // Counting a set without applying it gives the same numbers and leaves requires_grad alone.
        model.SetTrainable(TrainableSet.None);
        Assert.Equal(count, model.CountParameters(TrainableSets.Parse("head,patch")));
        Assert.Equal(0, model.CountParameters().Trainable);
        Assert.Equal(count.Total, model.CountParameters(TrainableSets.Parse("full")).Trainable);
    }

    [Fact]
    public void WrongInputShapeIsRefusedWithAClearMessage()
    {
        using var model = new VisionTransformer(Tiny(), PromptConfig.None);
        using var x = zeros(2, 1, 8, 8);
        var e = Assert.Throws<ArgumentException>(() => model.forward(x));
        Assert.Contains("(N,3,8,8)", e.Message);
    }
}
