using AdaptSharp.Models;
using AdaptSharp.Runtime;
using AdaptSharp.Training;

namespace AdaptSharp.Tests.Runtime;

public class FlopCounterTests
{
    [Fact]
    public void VitBaseForwardMatchesThePublishedMultiplyAddCount()
    {
        // ViT-B/16 at 224: 17.58 G multiply-adds (fvcore's count, the figure papers quote as "17.6 GFLOPs").
        var config = ModelPresets.Get("vit-base-patch16");
        var macs = FlopCounter.Forward(config, PromptConfig.None) / 2;
        Assert.InRange(macs, 17.4e9, 17.7e9);
    }

    [Fact]
    public void TokensCountClassTokenPatchesAndPromptsOnlyWhenUsed()
    {
        var config = ModelPresets.Get("vit-small-patch16");
        var prompts = PromptConfig.Parse("deep:25");
        Assert.Equal(222, FlopCounter.Tokens(config, prompts));
        Assert.Equal(197, FlopCounter.Tokens(config, prompts, usePrompts: false));
    }

    [Fact]
    public void ClosedFormsForOneBlockModel()
    {
        var c = new VitConfig { Name = "one", ImageSize = 4, PatchSize = 2, InChannels = 1, Width = 8, Depth = 1, Heads = 2, MlpRatio = 2, NumClasses = 3, Mean = [0f], Std = [1f] };
        // T = 1 + 4 = 5 tokens. patch: 2*4*4*8 = 256; linear: 2*5*8*(32+32) = 5120; attention: 4*25*8 = 800; head: 48.
        Assert.Equal(256 + 5120 + 800 + 48, FlopCounter.Forward(c, PromptConfig.None));
        Assert.Equal(2 * (256 + 5120 + 48) + 3 * 800, FlopCounter.AttackStep(c, PromptConfig.None));
        var trainable = TrainableSet.Head | TrainableSet.PatchEmbed;
        var outer = FlopCounter.Forward(c, PromptConfig.None) + (48 + 5120 + 2 * 800) + (48 + 256);
        Assert.Equal(outer, FlopCounter.Forward(c, PromptConfig.None) + FlopCounter.TrainingBackward(c, PromptConfig.None, trainable));
        Assert.Equal(10 * FlopCounter.AttackStep(c, PromptConfig.None) + 2 * outer,
            TrainingFlops.Step(c, PromptConfig.None, ObjectiveKind.AdaptCe, 10, trainable));
        Assert.Equal(outer, TrainingFlops.Step(c, PromptConfig.None, ObjectiveKind.Natural, 10, trainable));
    }
}
