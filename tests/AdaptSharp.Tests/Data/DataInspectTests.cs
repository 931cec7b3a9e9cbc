using AdaptSharp.Cli;
using AdaptSharp.Data;
using SkiaSharp;

namespace AdaptSharp.Tests.Data;

public class DataInspectTests
{
    [Fact]
    public void SummaryCountsClassesAndValueRange()
    {
        var root = DataFiles.CifarDirectory(DataFiles.CifarFiles(false, perBatch: 4, testCount: 2));
        using var data = DatasetLoader.Load(DatasetSpec.Parse($"cifar10:{root}"), DatasetSplit.Train);
        var s = DatasetSummary.Compute(data);
        Assert.Equal(20, s.Count);
        Assert.Equal((3, 32, 32), (s.Channels, s.Height, s.Width));
        Assert.Equal(Enumerable.Repeat(2L, 10), s.ClassCounts);
        Assert.Equal(0.0, s.Min);
        Assert.Equal(1.0, s.Max);
        var all = data.Images.to_type(TorchSharp.torch.ScalarType.Float64).div(255.0).mean([0, 2, 3]).data<double>().ToArray();
        for (var c = 0; c < 3; c++) Assert.Equal(all[c], s.ChannelMeans[c], 9);
    }

    [Fact]
    public void InspectWritesAContactSheetWithOneRowPerClass()
    {
        var root = DataFiles.CifarDirectory(DataFiles.CifarFiles(false, perBatch: 4, testCount: 2));
        var png = Path.Combine(DataFiles.NewTempDir(), "sheet.png");
        var code = Program.Main(["data", "inspect", $"cifar10:{root}", "--split", "train", "--grid", png, "--per-class", "3"]);
        Assert.Equal(0, code);
        using var sheet = SKBitmap.Decode(png);
        Assert.NotNull(sheet);
        // 32 px images are drawn at 64 px; 10 rows of 64 + 2 px gaps
        Assert.Equal(10 * 66 + 2, sheet.Height);
        Assert.Equal(120 + 3 * 66 + 2, sheet.Width);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(png)!, "*.tmp-*"));
    }

    [Theory]
    [InlineData("cifar10:/definitely/not/here")]
    [InlineData("imagenet:/x")]
    public void InspectFailsWithExitCode2OnBadData(string spec)
    {
        var error = new StringWriter();
        var old = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.Equal(2, Program.Main(["data", "inspect", spec]));
        }
        finally
        {
            Console.SetError(old);
        }
        var message = error.ToString().TrimEnd();
        Assert.StartsWith("adapt: ", message);
        Assert.DoesNotContain('\n', message);
    }
}
