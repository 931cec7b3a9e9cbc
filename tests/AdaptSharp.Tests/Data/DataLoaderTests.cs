using AdaptSharp.Data;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Data;

public class DataLoaderTests
{
    /// <summary>n grey 6x6 images; image i is filled with value i (mod 256), label i % 10.</summary>
    private static ImageDataset Numbered(int n)
    {
        var pixels = new byte[n * 36];
        for (var i = 0; i < n; i++) Array.Fill(pixels, (byte)(i % 256), i * 36, 36);
        return ImageDataset.FromPixels("numbered", pixels, n, 1, 6, 6, Enumerable.Range(0, n).Select(i => (long)(i % 10)).ToArray(),
            DatasetLoader.MnistClassNames);
    }

    private static List<(float[] Images, long[] Labels, long[] Indices)> Collect(DataLoader loader, int epoch, int startBatch = 0)
    {
        var result = new List<(float[], long[], long[])>();
        foreach (var batch in loader.Epoch(epoch, startBatch))
            using (batch)
                result.Add((batch.Images.data<float>().ToArray(), batch.Labels.data<long>().ToArray(), batch.SampleIndices));
        return result;
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(2, false)]
    [InlineData(1, true)]
    public void EachEpochYieldsTheDatasetExactlyOnce(int prefetch, bool dropLast)
    {
        using var data = Numbered(103);
        var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 10, ShuffleSeed = 5, DropLast = dropLast, Prefetch = prefetch });
        Assert.Equal(dropLast ? 10 : 11, loader.BatchesPerEpoch);
        for (var epoch = 0; epoch < 3; epoch++)
        {
            var batches = Collect(loader, epoch);
            Assert.Equal(loader.BatchesPerEpoch, batches.Count);
            var seen = batches.SelectMany(b => b.Indices).ToArray();
            Assert.Equal(dropLast ? 100 : 103, seen.Length);
            Assert.Equal(seen.Length, seen.Distinct().Count());
            if (!dropLast) Assert.Equal(Enumerable.Range(0, 103).Select(i => (long)i), seen.Order());
            foreach (var (images, labels, indices) in batches)
            {
                Assert.Equal(indices.Length * 36, images.Length);
                for (var k = 0; k < indices.Length; k++)
                {
                    Assert.Equal(indices[k] % 10, labels[k]);
                    Assert.Equal(indices[k] / 255f, images[k * 36], 6); // image content follows its index
                }
            }
        }
    }

    [Fact]
    public void ShuffleIsAFunctionOfSeedAndEpochOnly()
    {
        using var data = Numbered(50);
        var options = new DataLoaderOptions { BatchSize = 8, ShuffleSeed = 123 };
        var a = new DataLoader(data, options);
        var b = new DataLoader(data, options with { Prefetch = 0 });
        Assert.Equal(a.EpochOrder(4), b.EpochOrder(4));
        Assert.NotEqual(a.EpochOrder(0), a.EpochOrder(1));
        Assert.NotEqual(a.EpochOrder(0), new DataLoader(data, options with { ShuffleSeed = 124 }).EpochOrder(0));
        Assert.Equal(Enumerable.Range(0, 50), new DataLoader(data, options with { ShuffleSeed = null }).EpochOrder(0));
        Assert.Equal(a.EpochOrder(2).Select(i => (long)i), Collect(b, 2).SelectMany(x => x.Indices));
    }

    [Fact]
    public void ResumingMidEpochGivesBitIdenticalAugmentedBatches()
    {
        using var data = Numbered(40);
        var options = new DataLoaderOptions
        {
            BatchSize = 6,
            ShuffleSeed = 1,
            AugmentationSeed = 77,
            Transform = TransformPipeline.ForModel(8, 3).WithDefaultAugmentation(DatasetSpec.Parse("fashion-mnist"), 6),
        };
        var full = Collect(new DataLoader(data, options), epoch: 3);
        var resumed = Collect(new DataLoader(data, options with { Prefetch = 0 }), epoch: 3, startBatch: 4);
        Assert.Equal(full.Count - 4, resumed.Count);
        for (var i = 0; i < resumed.Count; i++)
        {
            Assert.Equal(full[i + 4].Indices, resumed[i].Indices);
            Assert.Equal(full[i + 4].Images, resumed[i].Images);
        }
        Assert.Equal(6 * 3 * 8 * 8, full[0].Images.Length);
        Assert.All(full, b => Assert.All(b.Images, v => Assert.InRange(v, 0f, 1f)));
        var other = Collect(new DataLoader(data, options with { AugmentationSeed = 78 }), epoch: 3);
        Assert.NotEqual(full[0].Images, other[0].Images);
    }

    [Theory]
    [InlineData(3, true, 3, 12)]
    [InlineData(2, false, 1, 5)]
    [InlineData(0, true, 3, 7)]
    public void LoaderAugmentationEqualsThePipelineOnTheSameDraws(int padding, bool flip, int channels, int size)
    {
        var r = new DeterministicRandom(99);
        var pixels = new byte[37 * 3 * 7 * 5];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = (byte)(1 + r.NextInt(255));
        using var data = ImageDataset.FromPixels("random", pixels, 37, 3, 7, 5, new long[37], ["only"]);
        var transform = new TransformPipeline(size, channels, padding, flip);
        var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 8, ShuffleSeed = 4, AugmentationSeed = 12, Transform = transform, Prefetch = 1 });
        foreach (var batch in loader.Epoch(2))
            using (batch)
            using (var scope = NewDisposeScope())
            {
                var idx = tensor(batch.SampleIndices, [batch.Count], ScalarType.Int64);
                var expected = transform.Apply(data.Images.index_select(0, idx),
                    transform.Augments ? new DeterministicRandom(DeterministicRandom.Derive(12, 2, batch.Index)) : null);
                Assert.Equal(expected.shape, batch.Images.shape);
                Assert.True(expected.eq(batch.Images).all().item<bool>());
            }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void HeldBatchesKeepTheirContentWhileLaterOnesAreBuilt(int prefetch)
    {
        using var data = Numbered(60);
        var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 6, ShuffleSeed = 8, Prefetch = prefetch });
        var held = loader.Epoch(0).ToList();
        try
        {
            foreach (var batch in held)
            {
                var values = batch.Images.data<float>().ToArray();
                for (var k = 0; k < batch.Count; k++)
                    Assert.Equal(batch.SampleIndices[k] / 255f, values[k * 36], 6);
            }
        }
        finally
        {
            held.ForEach(b => b.Dispose());
        }
    }

    [Fact]
    public void LeavingAnEpochEarlyStopsThePrefetcher()
    {
        using var data = Numbered(200);
        var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 4, ShuffleSeed = 2, Prefetch = 2 });
        for (var round = 0; round < 5; round++)
        {
            var taken = 0;
            foreach (var batch in loader.Epoch(round))
            {
                batch.Dispose();
                if (++taken == 3) break;
            }
            Assert.Equal(3, taken);
        }
        Assert.Equal(50, Collect(loader, 9).Count);
    }

    [Fact]
    public void BatchesCanBeDeconstructedAndBelongToNoScope()
    {
        using var data = Numbered(5);
        var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 5 });
        DataBatch? kept = null;
        using (NewDisposeScope())
        {
            foreach (var batch in loader.Epoch(0)) kept = batch;
        }
        var (images, labels) = kept!;
        Assert.Equal(new long[] { 5, 1, 6, 6 }, images.shape); // still alive after the scope ended
        Assert.Equal(ScalarType.Int64, labels.dtype);
        kept.Dispose();
    }

    [Fact]
    public void LimitAndSubsetSeedSelectDeterministically()
    {
        var dir = DataFiles.IdxDataset(trainCount: 30, testCount: 3, gzip: false);
        var spec = DatasetSpec.Parse($"mnist:{dir}");
        using var first = DatasetLoader.Load(spec, DatasetSplit.Train, limit: 7);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => (long)(i % 10)), first.Labels.data<long>().ToArray());
        using var s1 = DatasetLoader.Load(spec, DatasetSplit.Train, limit: 7, subsetSeed: 3);
        using var s2 = DatasetLoader.Load(spec, DatasetSplit.Train, limit: 7, subsetSeed: 3);
        using var s3 = DatasetLoader.Load(spec, DatasetSplit.Train, limit: 7, subsetSeed: 4);
        Assert.Equal(7, s1.Count);
        Assert.True(s1.Images.eq(s2.Images).all().item<bool>());
        Assert.False(s1.Images.eq(s3.Images).all().item<bool>());
        Assert.Throws<ArgumentException>(() => DatasetLoader.Load(spec, DatasetSplit.Train, subsetSeed: 3));
        using var all = DatasetLoader.Load(spec, DatasetSplit.Test, limit: 100);
        Assert.Equal(3, all.Count);
    }

    [Fact]
    public void EvaluationSetIsTheFirstTestPointsAtTheModelInput()
    {
        var dir = DataFiles.IdxDataset(trainCount: 4, testCount: 20, gzip: true, size: 8);
        var (images, labels) = DatasetLoader.LoadEvaluationSet(DatasetSpec.Parse($"fashion-mnist:{dir}"), 12, imageSize: 16, channels: 3);
        using (images)
        using (labels)
        {
            Assert.Equal(new long[] { 12, 3, 16, 16 }, images.shape);
            Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)(i % 10)), labels.data<long>().ToArray());
            Assert.True(images.min().item<float>() >= 0f && images.max().item<float>() <= 1f);
        }
    }
}
