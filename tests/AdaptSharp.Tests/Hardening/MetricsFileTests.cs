using AdaptSharp.Training;

namespace AdaptSharp.Tests.Hardening;

public sealed class MetricsFileTests : IDisposable
{
    private readonly string path = Path.Combine(Path.GetTempPath(), $"adapt-metrics-{Guid.NewGuid():N}.jsonl");

    public void Dispose() => File.Delete(path);

    [Fact]
    public void ATornLastLineIsDroppedAndABadMiddleLineNamesTheFile()
    {
        var one = new EpochMetrics { Epoch = 1, TrainLoss = 0.5 }.ToJsonLine();
        var two = new EpochMetrics { Epoch = 2, TrainLoss = 0.25 }.ToJsonLine();
        File.WriteAllText(path, one + "\n" + two + "\n" + two[..10]);
        Assert.Equal([1, 2], EpochMetrics.ReadFile(path).Select(m => m.Epoch));

        File.WriteAllText(path, one + "\n" + two[..10] + "\n" + two + "\n");
        var e = Assert.Throws<FormatException>(() => EpochMetrics.ReadFile(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("line 2", e.Message);
    }
}
