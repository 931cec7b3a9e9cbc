using AdaptSharp.Data;

namespace AdaptSharp.Tests.Data;

public class CifarReaderTests
{
    private static void AssertImage(ImageDataset data, int index, int imageId)
    {
        var (images, _) = data.ToTensors(new TransformPipeline(), index, 1);
        using (images)
        {
            var v = images.data<float>().ToArray();
            Assert.Equal(3072, v.Length);
            // channel-planar layout: (c, y, x) at c*1024 + y*32 + x
            foreach (var (c, y, x) in new[] { (0, 0, 0), (1, 5, 7), (2, 31, 31) })
                Assert.Equal(DataFiles.Pixel(imageId, c, y, x) / 255f, v[c * 1024 + y * 32 + x], 6);
        }
    }

    [Fact]
    public void Cifar10FolderReadsAllTrainBatchesInOrderAndTheTestBatch()
    {
        var root = DataFiles.CifarDirectory(DataFiles.CifarFiles(false, perBatch: 3, testCount: 4), "cifar-10-batches-bin");
        using var train = DatasetLoader.Load(DatasetSpec.Parse($"cifar10:{root}"), DatasetSplit.Train);
        using var test = DatasetLoader.Load(DatasetSpec.Parse($"cifar10:{Path.Combine(root, "cifar-10-batches-bin")}"), DatasetSplit.Test);
        Assert.Equal(15, train.Count);
        Assert.Equal(4, test.Count);
        Assert.Equal((3, 32, 32), (train.Channels, train.Height, train.Width));
        Assert.Equal(Enumerable.Range(0, 15).Select(i => (long)(i % 10)), train.Labels.data<long>().ToArray());
        Assert.Equal("truck", train.ClassNames[9]);
        Assert.Equal(10, train.NumClasses);
        AssertImage(train, 7, 7);
        AssertImage(test, 2, 1002);
    }

    [Fact]
    public void Cifar10ReadsTheTarGzItself()
    {
        var archive = DataFiles.CifarArchive(DataFiles.CifarFiles(false, perBatch: 2, testCount: 3), "cifar-10-batches-bin");
        using var train = DatasetLoader.Load(DatasetSpec.Parse($"cifar10:{archive}"), DatasetSplit.Train);
        using var test = DatasetLoader.Load(DatasetSpec.Parse($"cifar10:{archive}"), DatasetSplit.Test);
        Assert.Equal(10, train.Count);
        Assert.Equal(3, test.Count);
        AssertImage(train, 9, 9);
        Assert.Equal("airplane", test.ClassNames[0]);
    }

    [Fact]
    public void Cifar100UsesFineLabelsByDefaultAndCoarseOnRequest()
    {
        var files = DataFiles.CifarFiles(true, perBatch: 30, testCount: 7);
        var root = DataFiles.CifarDirectory(files, "cifar-100-binary");
        using var fine = DatasetLoader.Load(DatasetSpec.Parse($"cifar100:{root}"), DatasetSplit.Train);
        using var coarse = DatasetLoader.Load(DatasetSpec.Parse($"cifar100-coarse:{root}"), DatasetSplit.Train);
        Assert.Equal(150, fine.Count);
        Assert.Equal(Enumerable.Range(0, 150).Select(i => (long)(i % 100)), fine.Labels.data<long>().ToArray());
        Assert.Equal(Enumerable.Range(0, 150).Select(i => (long)(i % 20)), coarse.Labels.data<long>().ToArray());
        Assert.Equal(100, fine.NumClasses);
        Assert.Equal(20, coarse.NumClasses);
        Assert.Equal("fine42", fine.ClassNames[42]);
        Assert.Equal("coarse19", coarse.ClassNames[19]);
        AssertImage(fine, 149, 149);

        var archive = DataFiles.CifarArchive(files, "cifar-100-binary");
        using var test = DatasetLoader.Load(DatasetSpec.Parse($"cifar100:{archive}"), DatasetSplit.Test);
        Assert.Equal(7, test.Count);
        AssertImage(test, 6, 1006);
    }

    [Fact]
    public void WrongLengthNamesTheFile()
    {
        var files = DataFiles.CifarFiles(false, 2, 2);
        files["data_batch_3.bin"] = files["data_batch_3.bin"][..^5];
        var root = DataFiles.CifarDirectory(files);
        var e = Assert.Throws<DatasetException>(() => DatasetLoader.Load(DatasetSpec.Parse($"cifar10:{root}"), DatasetSplit.Train));
        Assert.Contains(Path.Combine(root, "data_batch_3.bin"), e.Message);
        Assert.Contains("wrong length", e.Message);
    }

    [Fact]
    public void Cifar100FileReadAsCifar10HasTheWrongLength()
    {
        // 3074-byte records are not a multiple of 3073 unless the count is a multiple of 3073.
        var files = DataFiles.CifarFiles(false, 2, 2);
        files["test_batch.bin"] = DataFiles.CifarRecords(3, cifar100: true, 0);
        var root = DataFiles.CifarDirectory(files);
        var e = Assert.Throws<DatasetException>(() => DatasetLoader.Load(DatasetSpec.Parse($"cifar10:{root}"), DatasetSplit.Test));
        Assert.Contains("test_batch.bin", e.Message);
        Assert.Contains("3073-byte record", e.Message);
    }

    [Fact]
    public void MissingFileAndMissingDirectoryAreNamed()
    {
        var files = DataFiles.CifarFiles(false, 2, 2);
        files.Remove("data_batch_5.bin");
        var root = DataFiles.CifarDirectory(files);
        var e = Assert.Throws<DatasetException>(() => DatasetLoader.Load(DatasetSpec.Parse($"cifar10:{root}"), DatasetSplit.Train));
        Assert.Contains(Path.Combine(root, "data_batch_5.bin"), e.Message);
        Assert.Contains("not found", e.Message);

        var archive = DataFiles.CifarArchive(files, "cifar-10-batches-bin");
        var a = Assert.Throws<DatasetException>(() => DatasetLoader.Load(DatasetSpec.Parse($"cifar10:{archive}"), DatasetSplit.Train));
        Assert.Contains(archive, a.Message);
        Assert.Contains("data_batch_5.bin", a.Message);

        var missing = Path.Combine(root, "absent");
        var d = Assert.Throws<DatasetException>(() => DatasetLoader.Load(DatasetSpec.Parse($"cifar100:{missing}"), DatasetSplit.Train));
        Assert.Equal($"{missing}: directory not found", d.Message);
    }
}
