using AdaptSharp.Checkpoints;
using AdaptSharp.Data;
using AdaptSharp.Models;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Data;

/// <summary>Issue 12, section 1: the data-reader cases a hostile new user found (docs/reliability.md).</summary>
public class ReaderRegressionTests
{
    private static void Image(string root, string split, string cls, string file, byte r)
    {
        var dir = Path.Combine(root, split, cls);
        Directory.CreateDirectory(dir);
        DataFiles.WriteImage(Path.Combine(dir, file), 4, 4, r, 0, 0);
    }

    [Fact]
    public void ImageFolderLabelsComeFromTrainSoAClassMissingFromValDoesNotShiftTheOthers()
    {
        var root = DataFiles.NewTempDir();
        foreach (var cls in new[] { "a", "b", "c" })
            Image(root, "train", cls, "1.png", 10);
        Image(root, "val", "a", "1.png", 10);
        Image(root, "val", "c", "1.png", 10);
        using var train = DatasetLoader.Load(DatasetSpec.Parse($"imagefolder:{root}"), DatasetSplit.Train);
        using var val = DatasetLoader.Load(DatasetSpec.Parse($"imagefolder:{root}"), DatasetSplit.Test);
        Assert.Equal(new[] { "a", "b", "c" }, train.ClassNames);
        Assert.Equal(train.ClassNames, val.ClassNames);
        Assert.Equal(new long[] { 0, 1, 2 }, train.Labels.data<long>().ToArray());
        Assert.Equal(new long[] { 0, 2 }, val.Labels.data<long>().ToArray()); // c is 2 in both splits
    }

    [Fact]
    public void ImageFolderSplitWithAClassTrainDoesNotHaveIsAnError()
    {
        var root = DataFiles.NewTempDir();
        Image(root, "train", "a", "1.png", 10);
        Image(root, "train", "b", "1.png", 10);
        Image(root, "val", "a", "1.png", 10);
        Image(root, "val", "zebra", "1.png", 10);
        var e = Assert.Throws<DatasetException>(() => DatasetLoader.Load(DatasetSpec.Parse($"imagefolder:{root}"), DatasetSplit.Test));
        Assert.Contains("zebra", e.Message);
        Assert.Contains(Path.Combine(root, "val", "zebra"), e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    /// <summary>Flips one bit of the gzip trailer's CRC-32 (the data stays intact, so only the CRC check can see it).</summary>
    private static void FlipCrcBit(string path)
    {
        var bytes = File.ReadAllBytes(path);
        bytes[^8] ^= 0x01;
        File.WriteAllBytes(path, bytes);
    }

    [Fact]
    public void CifarTarGzWithAFlippedCrcBitIsAnError()
    {
        var archive = DataFiles.CifarArchive(DataFiles.CifarFiles(false, perBatch: 2, testCount: 3), "cifar-10-batches-bin");
        FlipCrcBit(archive);
        var e = Assert.Throws<DatasetException>(() => DatasetLoader.Load(DatasetSpec.Parse($"cifar10:{archive}"), DatasetSplit.Test));
        Assert.Contains("CRC mismatch", e.Message);
        Assert.Contains(archive, e.Message);
    }

    [Fact]
    public void CifarTarGzWithAFlippedBitIsAnErrorOrLoadsTheSameData()
    {
        // Some bits of a deflate stream are redundant (the decoded bytes do not change); any other flip must fail.
        var archive = DataFiles.CifarArchive(DataFiles.CifarFiles(false, perBatch: 2, testCount: 3), "cifar-10-batches-bin");
        using var original = DatasetLoader.Load(DatasetSpec.Parse($"cifar10:{archive}"), DatasetSplit.Train);
        var bytes = File.ReadAllBytes(archive);
        var rng = new Random(4);
        var failures = 0;
        for (var trial = 0; trial < 40; trial++)
        {
            var copy = (byte[])bytes.Clone();
            copy[10 + rng.Next(copy.Length - 10)] ^= (byte)(1 << rng.Next(8));
            var path = Path.Combine(Path.GetDirectoryName(archive)!, $"flip{trial}.tar.gz");
            File.WriteAllBytes(path, copy);
            try
            {
                using var loaded = DatasetLoader.Load(DatasetSpec.Parse($"cifar10:{path}"), DatasetSplit.Train);
                Assert.True(loaded.Images.data<byte>().ToArray().SequenceEqual(original.Images.data<byte>().ToArray()), $"flip {trial} changed pixels silently");
                Assert.True(loaded.Labels.data<long>().ToArray().SequenceEqual(original.Labels.data<long>().ToArray()), $"flip {trial} changed labels silently");
            }
            catch (DatasetException)
            {
                failures++;
            }
        }
        Assert.True(failures > 30, $"only {failures} of 40 flips were errors");
    }

    [Fact]
    public void IdxGzipWithABadCrcSaysCrcMismatch()
    {
        var dir = DataFiles.IdxDataset(trainCount: 5, testCount: 3, gzip: true);
        var images = Path.Combine(dir, "t10k-images-idx3-ubyte.gz");
        FlipCrcBit(images);
        var e = Assert.Throws<DatasetException>(() => IdxReader.ReadImages(images));
        Assert.Contains("CRC mismatch", e.Message);
        Assert.DoesNotContain("unsupported compression method", e.Message);
        Assert.Contains(images, e.Message);
    }

    private static VitConfig Model(int channels) => new()
    {
        Name = "t",
        ImageSize = 8,
        PatchSize = 4,
        InChannels = channels,
        Width = 8,
        Depth = 1,
        Heads = 1,
        NumClasses = 3,
        Mean = Enumerable.Repeat(0.5f, channels).ToArray(),
        Std = Enumerable.Repeat(0.5f, channels).ToArray(),
    };

    private static string Npy(Tensor array)
    {
        var path = Path.Combine(DataFiles.NewTempDir(), "input.npy");
        NpyFile.Write(path, array);
        return path;
    }

    [Fact]
    public void ThreeDimensionalNpyIsRefusedForAThreeChannelModel()
    {
        using var array = rand(3, 8, 8);
        var path = Npy(array);
        var e = Assert.Throws<ArgumentException>(() => ImageInputs.Read(path, Model(3)));
        Assert.Contains(path, e.Message);
        Assert.Contains("(N,C,H,W)", e.Message);
    }

    [Fact]
    public void ThreeDimensionalNpyIsNImagesForAOneChannelModelAndSaysSo()
    {
        using var array = rand(3, 8, 8);
        var path = Npy(array);
        var notes = new List<string>();
        var (images, names) = ImageInputs.Read(path, Model(1), notes.Add);
        using (images)
        {
            Assert.Equal(new long[] { 3, 1, 8, 8 }, images.shape);
            Assert.Equal(3, names.Count);
            Assert.True(images.squeeze(1).allclose(array, rtol: 0, atol: 0));
        }
        var note = Assert.Single(notes);
        Assert.Contains("(N,H,W)", note);
        Assert.Contains(path, note);
    }

    [Fact]
    public void EmptyNpyIsAOneLineErrorNamingTheFile()
    {
        using var array = zeros(0, 3, 8, 8);
        var path = Npy(array);
        var e = Assert.Throws<ArgumentException>(() => ImageInputs.Read(path, Model(3)));
        Assert.Contains(path, e.Message);
        Assert.Contains("no images", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("(1000000000, 1000000000, 3)")]          // 3e18 floats: overflows the byte count
    [InlineData("(100000, 3, 224, 224)")]                // 60 GB declared, a few bytes present
    [InlineData("(99999999999999999999,)")]              // does not fit in 64 bits
    public void NpyWithAHugeDeclaredShapeIsRefusedBeforeAllocatingAndNamesTheFile(string shape)
    {
        var path = Path.Combine(DataFiles.NewTempDir(), "huge.npy");
        var header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}";
        header = header.PadRight(118 - 10 - 1) + "\n";
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)header.Length, 0 };
        bytes.AddRange(System.Text.Encoding.Latin1.GetBytes(header));
        bytes.AddRange(new byte[16]);
        File.WriteAllBytes(path, bytes.ToArray());
        var e = Assert.Throws<CheckpointFormatException>(() => NpyFile.Read(path));
        Assert.StartsWith(path + ":", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void SafetensorsHeaderWithInvalidUtf8NamesTheFileAndIsAUserError()
    {
        var path = Path.Combine(DataFiles.NewTempDir(), "bad.safetensors");
        var json = new List<byte>();
        json.AddRange("{\"__metadata__\":{\"k\":\""u8.ToArray());
        json.AddRange(new byte[] { 0xC3, 0x28 }); // an invalid two-byte sequence
        json.AddRange("\"}}"u8.ToArray());
        var bytes = BitConverter.GetBytes((ulong)json.Count).Concat(json).ToArray();
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<CheckpointFormatException>(() => SafetensorsReader.Open(path).Dispose());
        Assert.StartsWith(path + ":", e.Message);
        Assert.Contains("UTF-8", e.Message);

        // Through the CLI: the same exit code as every other bad input (stderr is not captured: Console.Error is
        // process-wide and other tests run in parallel; CliRunner prints "adapt: " + the message above).
        var exit = AdaptSharp.Cli.Program.Main(["predict", "--backbone", path, "--input", path, "--out", Path.Combine(Path.GetDirectoryName(path)!, "o.npy")]);
        Assert.Equal(AdaptSharp.Cli.CliRunner.UserError, exit);
    }

    [Fact]
    public void PredictReadsAnImageFolderWithTheSamePixelsAsTheDatasetReader()
    {
        // DecodeRgb returns planar (C,H,W) bytes; reading them as (H,W,C) scrambled every folder image given to predict.
        var dir = DataFiles.NewTempDir();
        DataFiles.WriteImage(Path.Combine(dir, "x.png"), 8, 8, 10, 100, 200);
        var (pixels, h, w) = ImageFolderReader.DecodeRgb(Path.Combine(dir, "x.png"));
        var (images, _) = ImageInputs.Read(dir, Model(3));
        using (images)
        {
            using var expected = tensor(pixels, new long[] { 1, 3, h, w }).to_type(ScalarType.Float32).div_(255.0);
            Assert.True(images.allclose(expected, rtol: 0, atol: 1e-6));
            Assert.Equal(10 / 255f, images[0, 0, 0, 0].item<float>(), 6);   // red at (0,0)
            Assert.Equal(100 / 255f, images[0, 1, 0, 0].item<float>(), 6);  // green
            Assert.Equal(200 / 255f, images[0, 2, 7, 7].item<float>(), 6);  // blue everywhere
        }
    }
}
