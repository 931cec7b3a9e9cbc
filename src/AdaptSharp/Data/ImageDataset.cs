using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Data;

/// <summary>
/// A dataset held in memory: one uint8 buffer of pixels laid out (N,C,H,W), int64 labels and class
/// names. <see cref="Images"/> is a uint8 tensor sharing that buffer (no copy), so torch ops and the
/// loader's managed gather read the same bytes. Pixels become float [0,1] per batch in
/// <see cref="DataLoader"/> or <see cref="ToTensors"/>. The dataset owns its tensors (they belong to
/// no dispose scope) and frees them on Dispose. One dataset holds at most 2^31 - 1 pixel bytes
/// (e.g. Imagenette train at 224x224 is 1.4 GB).
/// </summary>
public sealed class ImageDataset : IDisposable
{
    private readonly byte[] pixels;
    private readonly long[] labels;
    private bool disposed;

    /// <summary>Takes ownership of <paramref name="pixels"/> (N*C*H*W bytes) and <paramref name="labels"/>.</summary>
    private ImageDataset(string name, byte[] pixels, int count, int channels, int height, int width, long[] labels, IReadOnlyList<string> classNames)
    {
        if (pixels.LongLength != (long)count * channels * height * width)
            throw new ArgumentException($"pixel buffer has {pixels.LongLength} bytes, expected {count}x{channels}x{height}x{width}");
        if (labels.Length != count)
            throw new ArgumentException($"{labels.Length} labels for {count} images");
        Name = name;
        this.pixels = pixels;
        this.labels = labels;
        Count = count;
        Channels = channels;
        Height = height;
        Width = width;
        ClassNames = classNames;
        using var scope = NewDisposeScope();
        Images = frombuffer(pixels, ScalarType.Byte).reshape(count, channels, height, width).DetachFromDisposeScope();
        Labels = tensor(labels, [count], ScalarType.Int64).DetachFromDisposeScope();
    }

    /// <summary>Builds a dataset from raw pixels laid out N,C,H,W (the array is taken over, not copied).</summary>
    public static ImageDataset FromPixels(string name, byte[] pixels, int count, int channels, int height, int width,
        long[] labels, IReadOnlyList<string> classNames) =>
        new(name, pixels, count, channels, height, width, labels, classNames);

    public string Name { get; }

    /// <summary>uint8 pixels (N,C,H,W), sharing the dataset's buffer: read it, do not modify it.</summary>
    public Tensor Images { get; }

    /// <summary>int64 labels (N).</summary>
    public Tensor Labels { get; }

    public IReadOnlyList<string> ClassNames { get; }

    public int Count { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public int NumClasses => ClassNames.Count;

    /// <summary>The pixel buffer (N,C,H,W), for fast managed gathers. Read only.</summary>
    internal ReadOnlySpan<byte> PixelSpan => pixels;

    internal long LabelAt(int index) => labels[index];

    /// <summary>A new dataset of the given samples, in the given order.</summary>
    public ImageDataset Select(IReadOnlyList<long> indices, string? name = null)
    {
        var size = Channels * Height * Width;
        var selected = new byte[(long)indices.Count * size];
        var selectedLabels = new long[indices.Count];
        for (var i = 0; i < indices.Count; i++)
        {
            var source = checked((int)indices[i]);
            if (source < 0 || source >= Count) throw new ArgumentOutOfRangeException(nameof(indices), $"index {source} outside 0..{Count - 1}");
            Buffer.BlockCopy(pixels, source * size, selected, i * size, size);
            selectedLabels[i] = labels[source];
        }
        return new ImageDataset(name ?? Name, selected, indices.Count, Channels, Height, Width, selectedLabels, ClassNames);
    }

    /// <summary>The first <paramref name="count"/> samples (all of them if fewer), as a new dataset.</summary>
    public ImageDataset Take(int count)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        var n = Math.Min(count, Count);
        return Select(Enumerable.Range(0, n).Select(i => (long)i).ToArray());
    }

    /// <summary>
    /// Samples [start, start+count) as float [0,1] images passed through <paramref name="transform"/>
    /// without augmentation (resize / channel match only), plus their labels. The caller owns both tensors.
    /// This is the fixed evaluation set: the first N test points, deterministic.
    /// </summary>
    public (Tensor Images, Tensor Labels) ToTensors(TransformPipeline transform, int start = 0, int? count = null, Device? device = null)
    {
        if (start < 0 || start > Count) throw new ArgumentOutOfRangeException(nameof(start));
        var n = Math.Min(count ?? Count - start, Count - start);
        using var scope = NewDisposeScope();
        var images = transform.Apply(Images.narrow(0, start, n), rng: null);
        var batchLabels = Labels.narrow(0, start, n).clone();
        if (device is not null && device.type != DeviceType.CPU)
        {
            images = images.to(device);
            batchLabels = batchLabels.to(device);
        }
        return (images.MoveToOuterDisposeScope(), batchLabels.MoveToOuterDisposeScope());
    }

    /// <summary>Number of images of each class (index = label).</summary>
    public long[] ClassCounts()
    {
        var counts = new long[NumClasses];
        foreach (var l in labels)
            if (l >= 0 && l < counts.Length) counts[l]++;
        return counts;
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        Images.Dispose();
        Labels.Dispose();
    }
}
