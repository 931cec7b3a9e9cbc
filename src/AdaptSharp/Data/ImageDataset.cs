using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Data;

/// <summary>
/// A dataset held in memory: one uint8 tensor (N,C,H,W) of pixels, int64 labels (N) and class names.
/// Pixels are converted to float [0,1] per batch by <see cref="DataLoader"/> or <see cref="ToTensors"/>.
/// The dataset owns its tensors (they are detached from any dispose scope) and frees them on Dispose.
/// </summary>
public sealed class ImageDataset : IDisposable
{
    private bool disposed;

    /// <summary>Takes ownership of <paramref name="images"/> (uint8 N,C,H,W) and <paramref name="labels"/> (int64 N).</summary>
    public ImageDataset(string name, Tensor images, Tensor labels, IReadOnlyList<string> classNames)
    {
        if (images.dtype != ScalarType.Byte || images.dim() != 4)
            throw new ArgumentException($"images must be uint8 (N,C,H,W), got {images.dtype} {string.Join("x", images.shape)}");
        if (labels.dtype != ScalarType.Int64 || labels.dim() != 1 || labels.shape[0] != images.shape[0])
            throw new ArgumentException("labels must be int64 (N) with one label per image");
        Name = name;
        Images = images.DetachFromDisposeScope();
        Labels = labels.DetachFromDisposeScope();
        ClassNames = classNames;
    }

    /// <summary>Builds a dataset from raw pixels laid out N,C,H,W.</summary>
    public static ImageDataset FromPixels(string name, byte[] pixels, int count, int channels, int height, int width,
        long[] labels, IReadOnlyList<string> classNames)
    {
        if (pixels.LongLength != (long)count * channels * height * width)
            throw new ArgumentException($"pixel buffer has {pixels.LongLength} bytes, expected {count}x{channels}x{height}x{width}");
        using var scope = NewDisposeScope();
        var images = tensor(pixels, [count, channels, height, width], ScalarType.Byte);
        var labelTensor = tensor(labels, [count], ScalarType.Int64);
        return new ImageDataset(name, images, labelTensor, classNames);
    }

    public string Name { get; }

    /// <summary>uint8 pixels (N,C,H,W).</summary>
    public Tensor Images { get; }

    /// <summary>int64 labels (N).</summary>
    public Tensor Labels { get; }

    public IReadOnlyList<string> ClassNames { get; }

    public int Count => (int)Images.shape[0];
    public int Channels => (int)Images.shape[1];
    public int Height => (int)Images.shape[2];
    public int Width => (int)Images.shape[3];
    public int NumClasses => ClassNames.Count;

    /// <summary>A new dataset of the given samples, in the given order.</summary>
    public ImageDataset Select(IReadOnlyList<long> indices, string? name = null)
    {
        using var scope = NewDisposeScope();
        using var idx = tensor(indices.ToArray(), [indices.Count], ScalarType.Int64);
        return new ImageDataset(name ?? Name, Images.index_select(0, idx), Labels.index_select(0, idx), ClassNames);
    }

    /// <summary>The first <paramref name="count"/> samples (all of them if fewer), as a new dataset.</summary>
    public ImageDataset Take(int count)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        var n = Math.Min(count, Count);
        using var scope = NewDisposeScope();
        return new ImageDataset(Name, Images.narrow(0, 0, n).clone(), Labels.narrow(0, 0, n).clone(), ClassNames);
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
        var pixels = Images.narrow(0, start, n);
        var images = transform.Apply(pixels, rng: null);
        var labels = Labels.narrow(0, start, n).clone();
        if (device is not null && device.type != DeviceType.CPU)
        {
            images = images.to(device);
            labels = labels.to(device);
        }
        return (images.MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope());
    }

    /// <summary>Number of images of each class (index = label).</summary>
    public long[] ClassCounts()
    {
        var counts = new long[NumClasses];
        var labels = Labels.data<long>().ToArray();
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
