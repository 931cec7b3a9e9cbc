using AdaptSharp.Data;

namespace AdaptSharp.Tests.Data;

public class ImageFolderReaderTests
{
    /// <summary>root/train/{cat: 3 png, dog: 2 jpg}, root/val/{cat: 1 png, dog: 1 jpeg}, all w x h.</summary>
    private static string MakeFolder(int width = 12, int height = 10)
    {
        var root = DataFiles.NewTempDir();
        void Img(string split, string cls, string file, byte r)
        {
            var dir = Path.Combine(root, split, cls);
            Directory.CreateDirectory(dir);
            DataFiles.WriteImage(Path.Combine(dir, file), width, height, r, 40, 200);
        }
        Img("train", "cat", "a.png", 10);
        Img("train", "cat", "b.png", 20);
        Img("train", "cat", "c.png", 30);
        Img("train", "dog", "a.jpg", 100);
        Img("train", "dog", "b.JPG", 110);
        Img("val", "cat", "x.png", 50);
        Img("val", "dog", "y.jpeg", 150);
        File.WriteAllText(Path.Combine(root, "train", "dog", "notes.txt"), "ignored");
        return root;
    }

    [Fact]
    public void ReadsPngAndJpegAsRgbWithClassesFromFolderNames()
    {
        var root = MakeFolder();
        using var train = DatasetLoader.Load(DatasetSpec.Parse($"imagefolder:{root}"), DatasetSplit.Train);
        Assert.Equal(5, train.Count);
        Assert.Equal(new[] { "cat", "dog" }, train.ClassNames);
        Assert.Equal((3, 10, 12), (train.Channels, train.Height, train.Width));
        // round-robin over classes: cat a, dog a, cat b, dog b, cat c
        Assert.Equal(new long[] { 0, 1, 0, 1, 0 }, train.Labels.data<long>().ToArray());
        Assert.Equal(new long[] { 3, 2 }, train.ClassCounts());

        var pixels = train.Images.data<byte>().ToArray();
        var plane = 10 * 12;
        // PNG is lossless: sample 2 (cat/b.png), pixel (x=4, y=3) is (20+4, 40+3, 200)
        var o = 2 * 3 * plane + 3 * 12 + 4;
        Assert.Equal((byte)24, pixels[o]);
        Assert.Equal((byte)43, pixels[o + plane]);
        Assert.Equal((byte)200, pixels[o + 2 * plane]);
        // JPEG is lossy: sample 1 (dog/a.jpg) within a few levels
        var j = 1 * 3 * plane + 3 * 12 + 4;
        Assert.InRange(pixels[j], 100, 108);
        Assert.InRange(pixels[j + 2 * plane], 192, 208);

        using var val = DatasetLoader.Load(DatasetSpec.Parse($"imagefolder:{root}"), DatasetSplit.Test);
        Assert.Equal(2, val.Count);
        Assert.Equal(new long[] { 0, 1 }, val.Labels.data<long>().ToArray());
    }

    [Fact]
    public void ResizesOnLoadToASquare()
    {
        var root = MakeFolder(width: 40, height: 20);
        using var data = DatasetLoader.Load(DatasetSpec.Parse($"imagefolder:{root}"), DatasetSplit.Train, imageSize: 16);
        Assert.Equal((3, 16, 16), (data.Channels, data.Height, data.Width));
        // blue channel is constant 200 everywhere, and stays so through the antialiased resize
        var pixels = data.Images.data<byte>().ToArray();
        var plane = 16 * 16;
        for (var p = 0; p < plane; p++)
            Assert.Equal((byte)200, pixels[2 * plane + p]);
    }

    [Fact]
    public void MixedSizesWithoutAnImageSizeAreAnError()
    {
        var root = MakeFolder();
        DataFiles.WriteImage(Path.Combine(root, "train", "cat", "d.png"), 7, 7, 0, 0, 0);
        var e = Assert.Throws<DatasetException>(() => DatasetLoader.Load(DatasetSpec.Parse($"imagefolder:{root}"), DatasetSplit.Train));
        Assert.Contains("d.png", e.Message);
        Assert.Contains("--image-size", e.Message);
        using var resized = DatasetLoader.Load(DatasetSpec.Parse($"imagefolder:{root}"), DatasetSplit.Train, imageSize: 8);
        Assert.Equal(6, resized.Count);
    }

    [Fact]
    public void UnreadableImageNamesTheFile()
    {
        var root = MakeFolder();
        var bad = Path.Combine(root, "train", "dog", "broken.jpg");
        File.WriteAllText(bad, "this is not a jpeg");
        var e = Assert.Throws<DatasetException>(() => DatasetLoader.Load(DatasetSpec.Parse($"imagefolder:{root}"), DatasetSplit.Train));
        Assert.Contains(bad, e.Message);
        Assert.Contains("unreadable image", e.Message);
    }

    [Fact]
    public void TruncatedPngIsUnreadable()
    {
        var root = MakeFolder();
        var path = Path.Combine(root, "train", "cat", "b.png");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<DatasetException>(() => DatasetLoader.Load(DatasetSpec.Parse($"imagefolder:{root}"), DatasetSplit.Train));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void EmptyClassFolderNamesTheFolder()
    {
        var root = MakeFolder();
        var empty = Path.Combine(root, "train", "emu");
        Directory.CreateDirectory(empty);
        var e = Assert.Throws<DatasetException>(() => DatasetLoader.Load(DatasetSpec.Parse($"imagefolder:{root}"), DatasetSplit.Train));
        Assert.Contains(empty, e.Message);
        Assert.Contains("empty class folder", e.Message);
    }

    [Fact]
    public void MissingRootOrSplitFolderIsNamed()
    {
        var root = MakeFolder();
        var missing = Path.Combine(root, "nothing");
        var e = Assert.Throws<DatasetException>(() => DatasetLoader.Load(DatasetSpec.Parse($"imagefolder:{missing}"), DatasetSplit.Train));
        Assert.Equal($"{missing}: directory not found", e.Message);
        Directory.Delete(Path.Combine(root, "val"), recursive: true);
        var s = Assert.Throws<DatasetException>(() => DatasetLoader.Load(DatasetSpec.Parse($"imagefolder:{root}"), DatasetSplit.Test));
        Assert.Contains("no val/ or test/ folder", s.Message);
    }

    [Fact]
    public void LimitReadsOnlyTheFirstSamples()
    {
        var root = MakeFolder();
        // an unreadable image beyond the limit is never decoded (cat/z is the 4th cat, sample 6)
        File.WriteAllText(Path.Combine(root, "train", "cat", "z.png"), "junk");
        using var data = DatasetLoader.Load(DatasetSpec.Parse($"imagefolder:{root}"), DatasetSplit.Train, limit: 3);
        Assert.Equal(new long[] { 0, 1, 0 }, data.Labels.data<long>().ToArray());
    }
}
