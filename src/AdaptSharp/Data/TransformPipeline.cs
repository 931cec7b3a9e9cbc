using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Data;

/// <summary>
/// What a batch goes through between storage and the model: uint8 to float [0,1], then (training only)
/// random crop with zero padding and horizontal flip at the stored resolution, then resize to the
/// model's square input size and channel matching (grey to RGB for a 3-channel backbone).
/// Null ImageSize/Channels keep the stored ones. No normalisation: the model does that.
/// </summary>
public sealed record TransformPipeline(int? ImageSize = null, int? Channels = null, int CropPadding = 0, bool HorizontalFlip = false)
{
    /// <summary>Evaluation pipeline for a model input: resize and channel match, no augmentation.</summary>
    public static TransformPipeline ForModel(int imageSize, int channels) => new(imageSize, channels);

    /// <summary>
    /// The training augmentation for a dataset: crop padding of 1/8 of the stored height (4 for CIFAR's 32,
    /// 3 for 28x28 MNIST-like images, as in the paper's CIFAR recipe) and a horizontal flip where it
    /// preserves the label (<see cref="DatasetSpec.FlipPreservesLabel"/>: not MNIST).
    /// </summary>
    public TransformPipeline WithDefaultAugmentation(DatasetSpec spec, int storedHeight) =>
        this with { CropPadding = Math.Max(1, storedHeight / 8), HorizontalFlip = spec.FlipPreservesLabel };

    public bool Augments => CropPadding > 0 || HorizontalFlip;

    /// <summary>
    /// Applies the pipeline to a uint8 or float batch (N,C,H,W). Augmentation only runs when
    /// <paramref name="rng"/> is given; crop offsets are drawn for all samples first, then flips
    /// (the same draws as Transforms.RandomCrop then Transforms.RandomHorizontalFlip).
    /// Returns a new float32 tensor owned by the caller.
    /// </summary>
    public Tensor Apply(Tensor images, DeterministicRandom? rng)
    {
        if (images.dim() != 4) throw new ArgumentException($"expected a batch (N,C,H,W), got shape {string.Join("x", images.shape)}");
        using var scope = NewDisposeScope();
        var x = images;
        // Crop and flip only move pixels, so they run on the stored dtype (uint8: a quarter of the bytes).
        if (rng is not null && Augments)
            x = Transforms.RandomCropAndFlip(x, CropPadding, HorizontalFlip, rng);
        x = x.dtype == ScalarType.Byte
            ? x.to_type(ScalarType.Float32).div_(255.0)
            : x.to_type(ScalarType.Float32, copy: true);
        return ResizeAndMatchChannels(x).MoveToOuterDisposeScope();
    }

    /// <summary>The non-random tail of <see cref="Apply"/> on a float batch: channel match and resize. Returns a new handle.</summary>
    internal Tensor ResizeAndMatchChannels(Tensor x)
    {
        using var scope = NewDisposeScope();
        // Reduce channels before resizing and expand after: both orders give the same result, this one is cheaper.
        var channels = Channels ?? (int)x.shape[1];
        if (channels < x.shape[1]) x = Transforms.MatchChannels(x, channels);
        if (ImageSize is { } size) x = Transforms.Resize(x, size, size);
        if (channels > x.shape[1]) x = Transforms.MatchChannels(x, channels);
        // alias first: a fresh handle even when nothing changed, so the caller's input handle is never moved out of its scope
        return x.alias().contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>The (C,H,W) the pipeline produces from stored images of (C,H,W).</summary>
    public (int Channels, int Height, int Width) OutputShape(int channels, int height, int width) =>
        (Channels ?? channels, ImageSize ?? height, ImageSize ?? width);
}
