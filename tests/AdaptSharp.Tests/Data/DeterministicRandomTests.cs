using AdaptSharp.Data;

namespace AdaptSharp.Tests.Data;

public class DeterministicRandomTests
{
    [Fact]
    public void SameSeedSameStreamDifferentSeedDifferentStream()
    {
        var a = new DeterministicRandom(42);
        var b = new DeterministicRandom(42);
        var c = new DeterministicRandom(43);
        var sa = Enumerable.Range(0, 100).Select(_ => a.NextUInt64()).ToArray();
        Assert.Equal(sa, Enumerable.Range(0, 100).Select(_ => b.NextUInt64()).ToArray());
        Assert.NotEqual(sa, Enumerable.Range(0, 100).Select(_ => c.NextUInt64()).ToArray());
    }

    [Fact]
    public void StreamIsPinned()
    {
        // Golden values: the shuffle order of every run depends on them, on every machine.
        // xoshiro256** with SplitMix64 seeding of 0, checked against an independent implementation.
        var r = new DeterministicRandom(0UL);
        Assert.Equal(0x99EC5F36CB75F2B4UL, r.NextUInt64());
        Assert.Equal(0xBF6E1F784956452AUL, r.NextUInt64());
        Assert.Equal(0x1A5F849D4933E6E0UL, r.NextUInt64());
        var p = new DeterministicRandom(DeterministicRandom.Derive(7, 3)).Permutation(10);
        Assert.Equal(p, new DeterministicRandom(DeterministicRandom.Derive(7, 3)).Permutation(10));
    }

    [Fact]
    public void PermutationIsAPermutationAndDerivedStreamsDiffer()
    {
        var p0 = new DeterministicRandom(DeterministicRandom.Derive(5, 0)).Permutation(1000);
        var p1 = new DeterministicRandom(DeterministicRandom.Derive(5, 1)).Permutation(1000);
        Assert.Equal(Enumerable.Range(0, 1000), p0.Order());
        Assert.NotEqual(p0, p1);
        Assert.NotEqual(DeterministicRandom.Derive(5, 1, 2), DeterministicRandom.Derive(5, 2, 1));
    }

    [Fact]
    public void NextIntIsUniformEnough()
    {
        var r = new DeterministicRandom(1);
        var counts = new int[6];
        for (var i = 0; i < 60000; i++) counts[r.NextInt(6)]++;
        Assert.All(counts, c => Assert.InRange(c, 9500, 10500));
        var d = Enumerable.Range(0, 10000).Select(_ => r.NextDouble()).ToArray();
        Assert.All(d, x => Assert.InRange(x, 0.0, 0.9999999999));
        Assert.InRange(d.Average(), 0.49, 0.51);
    }
}
