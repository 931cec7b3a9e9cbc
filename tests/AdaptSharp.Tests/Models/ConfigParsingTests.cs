using AdaptSharp.Models;

namespace AdaptSharp.Tests.Models;

public class ConfigParsingTests
{
    [Fact]
    public void PromptSpecsParse()
    {
        Assert.Equal(new PromptConfig(PromptMode.Deep, 25), PromptConfig.Parse("deep:25"));
        Assert.Equal(new PromptConfig(PromptMode.Shallow, 10), PromptConfig.Parse("shallow:10"));
        Assert.False(PromptConfig.Parse("none").HasPrompts);
        Assert.Throws<ArgumentException>(() => PromptConfig.Parse("deep"));
        Assert.Throws<ArgumentException>(() => PromptConfig.Parse("wide:3"));
        Assert.Throws<ArgumentException>(() => PromptConfig.Parse("deep:-1"));
    }

    [Fact]
    public void TrainableSetsParseAndFormat()
    {
        Assert.Equal(TrainableSet.Prompts | TrainableSet.Head | TrainableSet.PatchEmbed, TrainableSets.Parse("head,patch"));
        Assert.Equal(TrainableSet.Head, TrainableSets.Parse("linear"));
        Assert.True(TrainableSets.Parse("full").HasFlag(TrainableSet.Backbone));
        Assert.Equal("head,patch", TrainableSets.Format(TrainableSets.Parse("head,patch")));
        Assert.Throws<ArgumentException>(() => TrainableSets.Parse("everything"));
    }

    [Fact]
    public void ConfigJsonRoundTrips()
    {
        var config = ModelPresets.Get(ModelPresets.CpuPreset);
        Assert.Equal(config, VitConfig.FromJson(config.ToJson()));
        Assert.Throws<ArgumentException>(() => (config with { Width = 65 }).Validate());
    }
}
