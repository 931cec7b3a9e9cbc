using AdaptSharp.Data;

namespace AdaptSharp.Tests.Data;

public class IdxReaderTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ReadsGzipAndRawIdxIntoFloatAndInt64Tensors(bool gzip)
    {
        var dir = DataFiles.IdxDataset(trainCount: 12, testCount: 5, gzip, size: 6);
        using var train = DatasetLoader.Load(new DatasetSpec(DatasetKind.Mnist, dir), DatasetSplit.Train);
        using var test = DatasetLoader.Load(DatasetSpec.Parse($"mnist:{dir}"), DatasetSplit.Test);

        Assert.Equal(12, train.Count);
        Assert.Equal(5, test.Count);
        Assert.Equal((1, 6, 6), (train.Channels, train.Height, train.Width));
        Assert.Equal(DatasetLoader.MnistClassNames, train.ClassNames);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)(i % 10)), train.Labels.data<long>().ToArray());

        var (images, labels) = train.ToTensors(new TransformPipeline());
        using (images)
        using (labels)
        {
            Assert.Equal(new long[] { 12, 1, 6, 6 }, images.shape);
            Assert.Equal(TorchSharp.torch.ScalarType.Float32, images.dtype);
            Assert.Equal(TorchSharp.torch.ScalarType.Int64, labels.dtype);
            var values = images.data<float>().ToArray();
            // image 3, y 2, x 5
            Assert.Equal(DataFiles.Pixel(3, 0, 2, 5) / 255f, values[3 * 36 + 2 * 6 + 5], 6);
            Assert.InRange(values.Min(), 0f, 1f);
            Assert.InRange(values.Max(), 0f, 1f);
        }
    }

    [Fact]
    public void FashionMnistSpecWithDirectoryUsesFashionClassNames()
    {
        var dir = DataFiles.IdxDataset(10, 10, gzip: true);
        using var data = DatasetLoader.Load(DatasetSpec.Parse($"fashion-mnist:{dir}"), DatasetSplit.Test);
        Assert.Equal("Ankle boot", data.ClassNames[9]);
        Assert.Equal(Enumerable.Repeat(1L, 10), data.ClassCounts());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void WrongMagicNamesTheFile(bool gzip)
    {
        var dir = DataFiles.IdxDataset(4, 4, gzip);
        var ext = gzip ? ".gz" : "";
        var path = Path.Combine(dir, "train-images-idx3-ubyte" + ext);
        // A label file where the image file should be.
        DataFiles.Write(path, DataFiles.IdxLabels(4), gzip);
        var e = Assert.Throws<DatasetException>(() => DatasetLoader.Load(new DatasetSpec(DatasetKind.Mnist, dir), DatasetSplit.Train));
        Assert.Contains(path, e.Message);
        Assert.Contains("magic 0x00000801", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TruncatedFileNamesTheFile(bool gzip)
    {
        var dir = DataFiles.IdxDataset(4, 4, gzip);
        var ext = gzip ? ".gz" : "";
        var path = Path.Combine(dir, "t10k-images-idx3-ubyte" + ext);
        var full = DataFiles.IdxImages(4, 8, 8);
        DataFiles.Write(path, full[..(full.Length - 10)], gzip);
        var e = Assert.Throws<DatasetException>(() => DatasetLoader.Load(new DatasetSpec(DatasetKind.Mnist, dir), DatasetSplit.Test));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void TruncatedGzipStreamIsReported()
    {
        var dir = DataFiles.IdxDataset(4, 4, gzip: true);
        var path = Path.Combine(dir, "train-images-idx3-ubyte.gz");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<DatasetException>(() => IdxReader.ReadImages(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void HeaderOnlyFileIsTruncated()
    {
        var path = Path.Combine(DataFiles.NewTempDir(), "x-idx3-ubyte");
        File.WriteAllBytes(path, DataFiles.IdxImages(3, 4, 4)[..10]);
        var e = Assert.Throws<DatasetException>(() => IdxReader.ReadImages(path));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void MissingFileNamesTheFileAndHowToInstallFashionMnist()
    {
        var dir = DataFiles.IdxDataset(4, 4, gzip: true);
        File.Delete(Path.Combine(dir, "train-labels-idx1-ubyte.gz"));
        var e = Assert.Throws<DatasetException>(() => DatasetLoader.Load(DatasetSpec.Parse($"fashion-mnist:{dir}"), DatasetSplit.Train));
        Assert.Contains("train-labels-idx1-ubyte", e.Message);
        Assert.Contains("not found", e.Message);
        Assert.Contains("sudo apt-get install dataset-fashion-mnist", e.Message);
    }

    [Fact]
    public void MissingDirectoryNamesItAndExplainsBothFixes()
    {
        var dir = Path.Combine(DataFiles.NewTempDir(), "nope");
        var e = Assert.Throws<DatasetException>(() => DatasetLoader.Load(DatasetSpec.Parse($"fashion-mnist:{dir}"), DatasetSplit.Train));
        Assert.Contains(dir, e.Message);
        Assert.Contains("sudo apt-get install dataset-fashion-mnist", e.Message);
        Assert.Contains("fashion-mnist:DIR", e.Message);
        var m = Assert.Throws<DatasetException>(() => DatasetLoader.Load(DatasetSpec.Parse($"mnist:{dir}"), DatasetSplit.Train));
        Assert.Equal($"{dir}: directory not found", m.Message);
    }

    [Fact]
    public void LabelCountMismatchIsReported()
    {
        var dir = DataFiles.IdxDataset(6, 4, gzip: false);
        File.WriteAllBytes(Path.Combine(dir, "train-labels-idx1-ubyte"), DataFiles.IdxLabels(5));
        var e = Assert.Throws<DatasetException>(() => DatasetLoader.Load(new DatasetSpec(DatasetKind.Mnist, dir), DatasetSplit.Train));
        Assert.Contains("5 labels for 6 images", e.Message);
    }
}
