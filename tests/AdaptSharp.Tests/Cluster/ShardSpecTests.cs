using AdaptSharp.Cluster;

namespace AdaptSharp.Tests.Cluster;

public class ShardSpecTests
{
    [Theory]
    [InlineData("1/1", 1, 1)]
    [InlineData("2/4", 2, 4)]
    [InlineData(" 4 / 4 ", 4, 4)]
    public void ParsesKOfNCountingFromOne(string text, int k, int n)
    {
        var shard = ShardSpec.Parse(text);
        Assert.Equal(new ShardSpec(k, n), shard);
        Assert.Equal(shard, ShardSpec.Parse(shard.ToString()));
    }

    [Theory]
    [InlineData("5/4")]
    [InlineData("0/0")]
    [InlineData("0/4")]
    [InlineData("1/0")]
    [InlineData("-1/4")]
    [InlineData("2")]
    [InlineData("1/2/3")]
    [InlineData("a/b")]
    [InlineData("")]
    public void RefusesAnythingButOneToN(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => ShardSpec.Parse(text));
        Assert.Contains($"'{text}'", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void FolderNamesRoundTripAndOthersAreNotShards()
    {
        foreach (var (k, n) in new[] { (1, 1), (2, 3), (12, 40) })
            Assert.Equal(new ShardSpec(k, n), ShardSpec.FromDirectoryName(new ShardSpec(k, n).DirectoryName));
        foreach (var name in new[] { "shard-0-of-2", "shard-3-of-2", "shard-1-of-x", "shard-1-2", "shards-1-of-2", "shard--1-of-2", "report.json" })
            Assert.Null(ShardSpec.FromDirectoryName(name));
    }

    [Fact]
    public void RangesCoverEveryItemOnceInOrderAndDifferByAtMostOne()
    {
        foreach (var total in new[] { 0, 1, 2, 3, 7, 79, 100, 1000 })
        {
            for (var n = 1; n <= 9; n++)
            {
                var ranges = Enumerable.Range(1, n).Select(k => new ShardSpec(k, n).Range(total)).ToList();
                Assert.Equal(0, ranges[0].Start);
                Assert.Equal(total, ranges[^1].End);
                for (var k = 1; k < n; k++)
                    Assert.Equal(ranges[k - 1].End, ranges[k].Start);
                var sizes = ranges.Select(r => r.End - r.Start).ToList();
                Assert.True(sizes.Min() >= 0 && sizes.Max() - sizes.Min() <= 1, $"{total} over {n}: {string.Join(",", sizes)}");
            }
        }
        Assert.Equal((0, 10), ShardSpec.Whole.Range(10));
    }

    [Fact]
    public void OptionWinsOverTheEnvironment()
    {
        var env = Env(("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "4"));
        Assert.Equal((new ShardSpec(1, 1), "--shard"), ShardEnvironment.Resolve("1/1", env));
        Assert.Equal((null, ""), ShardEnvironment.Resolve(null, Env()));
    }

    [Theory]
    [InlineData("0", "4", "0", "3", "1", 1)] // --array=0-3
    [InlineData("3", "4", "0", "3", "1", 4)]
    [InlineData("1", "4", "1", "4", "1", 1)] // --array=1-4
    [InlineData("6", "4", "0", "6", "2", 4)] // --array=0-6:2
    public void SlurmArrayTasksMapToShards(string id, string count, string min, string max, string step, int k)
    {
        var (shard, origin) = ShardEnvironment.Resolve(null, Env(("SLURM_ARRAY_TASK_ID", id), ("SLURM_ARRAY_TASK_COUNT", count),
            ("SLURM_ARRAY_TASK_MIN", min), ("SLURM_ARRAY_TASK_MAX", max), ("SLURM_ARRAY_TASK_STEP", step)));
        Assert.Equal(new ShardSpec(k, int.Parse(count)), shard);
        Assert.Contains("SLURM_ARRAY_TASK_ID=" + id, origin);
    }

    [Fact]
    public void SlurmListArraysAndMissingCountsAreRefused()
    {
        // --array=1,3,8 as Slurm 22.05 reports it to task 8.
        var list = Env(("SLURM_ARRAY_TASK_ID", "8"), ("SLURM_ARRAY_TASK_COUNT", "3"), ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "8"), ("SLURM_ARRAY_TASK_STEP", "1"));
        Assert.Contains("--array=MIN-MAX", Assert.Throws<ArgumentException>(() => ShardEnvironment.Resolve(null, list)).Message);
        Assert.Contains("SLURM_ARRAY_TASK_COUNT", Assert.Throws<ArgumentException>(() => ShardEnvironment.Resolve(null, Env(("SLURM_ARRAY_TASK_ID", "0")))).Message);
        Assert.Contains("not an integer", Assert.Throws<ArgumentException>(() =>
            ShardEnvironment.Resolve(null, Env(("SLURM_ARRAY_TASK_ID", "x"), ("SLURM_ARRAY_TASK_COUNT", "4")))).Message);
    }

    [Fact]
    public void ShardCountMakesTheSlurmTaskIdTheIndexFromZero()
    {
        // Resubmitting task 2 of --array=0-3 alone: Slurm says an array of one task; ADAPT_SHARD_COUNT keeps it shard 3/4.
        var alone = Env(("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_COUNT", "1"), ("SLURM_ARRAY_TASK_MIN", "2"), ("SLURM_ARRAY_TASK_MAX", "2"));
        Assert.Equal(new ShardSpec(1, 1), ShardEnvironment.Resolve(null, alone).Shard);
        Func<string, string?> withCount = name => name == "ADAPT_SHARD_COUNT" ? "4" : alone(name);
        Assert.Equal(new ShardSpec(3, 4), ShardEnvironment.Resolve(null, withCount).Shard);
        Assert.Throws<ArgumentException>(() => ShardEnvironment.Resolve(null, Env(("SLURM_ARRAY_TASK_ID", "4"), ("ADAPT_SHARD_COUNT", "4"))));
    }

    [Fact]
    public void KubernetesCompletionIndexCountsFromZero()
    {
        var (shard, origin) = ShardEnvironment.Resolve(null, Env(("JOB_COMPLETION_INDEX", "0"), ("ADAPT_SHARD_COUNT", "4")));
        Assert.Equal(new ShardSpec(1, 4), shard);
        Assert.Contains("JOB_COMPLETION_INDEX=0", origin);
        Assert.Equal(new ShardSpec(4, 4), ShardEnvironment.Resolve(null, Env(("JOB_COMPLETION_INDEX", "3"), ("ADAPT_SHARD_COUNT", "4"))).Shard);
        Assert.Throws<ArgumentException>(() => ShardEnvironment.Resolve(null, Env(("JOB_COMPLETION_INDEX", "4"), ("ADAPT_SHARD_COUNT", "4"))));
        Assert.Contains("ADAPT_SHARD_COUNT", Assert.Throws<ArgumentException>(() => ShardEnvironment.Resolve(null, Env(("JOB_COMPLETION_INDEX", "1")))).Message);
    }

    private static Func<string, string?> Env(params (string Name, string Value)[] variables)
    {
        var map = variables.ToDictionary(v => v.Name, v => v.Value);
        return name => map.GetValueOrDefault(name);
    }
}
