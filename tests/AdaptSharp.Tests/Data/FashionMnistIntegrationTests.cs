using AdaptSharp.Data;

namespace AdaptSharp.Tests.Data;

public class FashionMnistIntegrationTests
{
    [FashionMnistFact]
    public void ReadsTheInstalledPackage()
    {
        var spec = DatasetSpec.Parse("fashion-mnist");
        using var train = DatasetLoader.Load(spec, DatasetSplit.Train);
        using var test = DatasetLoader.Load(spec, DatasetSplit.Test);
        Assert.Equal(60000, train.Count);
        Assert.Equal(10000, test.Count);
        Assert.Equal((1, 28, 28), (train.Channels, train.Height, train.Width));
        Assert.Equal(Enumerable.Repeat(6000L, 10), train.ClassCounts());
        Assert.Equal(Enumerable.Repeat(1000L, 10), test.ClassCounts());
        Assert.Equal("T-shirt/top", train.ClassNames[0]);
    }
}
