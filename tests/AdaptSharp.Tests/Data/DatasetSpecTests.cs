using AdaptSharp.Data;

namespace AdaptSharp.Tests.Data;

public class DatasetSpecTests
{
    [Theory]
    [InlineData("fashion-mnist", DatasetKind.FashionMnist, null, false)]
    [InlineData("fashion-mnist:/data/fm", DatasetKind.FashionMnist, "/data/fm", false)]
    [InlineData("mnist:/d", DatasetKind.Mnist, "/d", false)]
    [InlineData("CIFAR10:/c/cifar-10-binary.tar.gz", DatasetKind.Cifar10, "/c/cifar-10-binary.tar.gz", false)]
    [InlineData("cifar100:/c100", DatasetKind.Cifar100, "/c100", false)]
    [InlineData("cifar100-coarse:/c100", DatasetKind.Cifar100, "/c100", true)]
    [InlineData("imagefolder:/imagenette2-160", DatasetKind.ImageFolder, "/imagenette2-160", false)]
    public void ParsesEveryForm(string text, DatasetKind kind, string? path, bool coarse)
    {
        var spec = DatasetSpec.Parse(text);
        Assert.Equal(new DatasetSpec(kind, path, coarse), spec);
        Assert.Equal(spec, DatasetSpec.Parse(spec.ToString()));
    }

    [Fact]
    public void FashionMnistDefaultsToTheDebianPackageLocation() =>
        Assert.Equal("/usr/share/datasets/fashion-mnist", DatasetSpec.Parse("fashion-mnist").ResolvedPath);

    [Theory]
    [InlineData("imagenet:/x")]
    [InlineData("cifar10")]
    [InlineData("mnist:")]
    [InlineData("imagefolder")]
    public void RejectsUnknownOrIncompleteSpecs(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => DatasetSpec.Parse(text));
        Assert.Contains(text.TrimEnd(':'), e.Message);
    }

    [Fact]
    public void FlipIsOffOnlyForMnist()
    {
        Assert.False(DatasetSpec.Parse("mnist:/d").FlipPreservesLabel);
        Assert.True(DatasetSpec.Parse("fashion-mnist").FlipPreservesLabel);
        Assert.True(DatasetSpec.Parse("cifar10:/d").FlipPreservesLabel);
        Assert.True(DatasetSpec.Parse("imagefolder:/d").FlipPreservesLabel);
    }

    [Fact]
    public void SplitParsing()
    {
        Assert.Equal(DatasetSplit.Train, DatasetSplits.Parse("train"));
        Assert.Equal(DatasetSplit.Test, DatasetSplits.Parse("test"));
        Assert.Equal(DatasetSplit.Test, DatasetSplits.Parse("val"));
        Assert.Throws<ArgumentException>(() => DatasetSplits.Parse("dev"));
    }
}
