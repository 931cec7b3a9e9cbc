using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AdaptSharp.Data;

/// <summary>
/// Image transforms on float batches (N,C,H,W) with values in [0,1]. Each returns a new tensor
/// (the caller's dispose scope owns it) and keeps values in [0,1]. Randomness comes only from the
/// <see cref="DeterministicRandom"/> passed in, drawn in sample order, so a batch's augmentation is
/// reproducible from its seed. Normalisation is not here: it lives inside the model.
/// </summary>
internal static class Transforms
{
    /// <summary>Bilinear resize (half-pixel centres); antialiased when shrinking, so downsampling does not alias.</summary>
    public static Tensor Resize(Tensor images, int height, int width)
    {
        if (height <= 0 || width <= 0) throw new ArgumentOutOfRangeException(nameof(height), "size must be positive");
        var h = images.shape[2];
        var w = images.shape[3];
        if (h == height && w == width) return images.alias();
        var shrinking = height < h || width < w;
        using var resized = F.interpolate(images, [height, width], mode: InterpolationMode.Bilinear,
            align_corners: false, antialias: shrinking);
        return resized.clamp(0.0, 1.0);
    }

    /// <summary>
    /// Resizes the shorter side to <paramref name="size"/> (keeping the aspect ratio) and takes the centre
    /// size x size square: how non-square photos (e.g. Imagenette) become square model inputs.
    /// </summary>
    public static Tensor ResizeShorterSideAndCenterCrop(Tensor images, int size)
    {
        var h = (int)images.shape[2];
        var w = (int)images.shape[3];
        var scale = (double)size / Math.Min(h, w);
        var newH = Math.Max(size, (int)Math.Round(h * scale));
        var newW = Math.Max(size, (int)Math.Round(w * scale));
        using var resized = Resize(images, newH, newW);
        var top = (newH - size) / 2;
        var left = (newW - size) / 2;
        return resized.narrow(2, top, size).narrow(3, left, size).contiguous();
    }

    /// <summary>
    /// Matches the channel count to the model: grey to RGB repeats the channel; RGB to grey takes
    /// ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B).
    /// </summary>
    public static Tensor MatchChannels(Tensor images, int channels)
    {
        var c = images.shape[1];
        if (c == channels) return images.alias();
        if (c == 1 && channels == 3) return images.repeat(1, 3, 1, 1);
        if (c == 3 && channels == 1)
        {
            using var weights = tensor(new[] { 0.299f, 0.587f, 0.114f }, [1, 3, 1, 1], images.dtype, images.device);
            using var weighted = images * weights;
            return weighted.sum(1, keepdim: true).clamp_(0.0, 1.0);
        }
        throw new ArgumentException($"cannot convert {c}-channel images to {channels} channels");
    }

    /// <summary>
    /// Random crop of the original size from the image zero-padded by <paramref name="padding"/> on each side
    /// (the CIFAR recipe: pad 4, crop 32). Draws (dy, dx) per sample in order.
    /// </summary>
    public static Tensor RandomCrop(Tensor images, int padding, DeterministicRandom rng)
    {
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding));
        if (padding == 0) return images.alias();
        var n = (int)images.shape[0];
        var h = images.shape[2];
        var w = images.shape[3];
        using var scope = NewDisposeScope();
        var padded = F.pad(images, [padding, padding, padding, padding], PaddingModes.Constant, 0.0);
        var crops = new Tensor[n];
        for (var i = 0; i < n; i++)
        {
            var dy = rng.NextInt(2 * padding + 1);
            var dx = rng.NextInt(2 * padding + 1);
            crops[i] = padded[i].narrow(1, dy, h).narrow(2, dx, w);
        }
        return stack(crops).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <see cref="RandomCrop"/> followed by <see cref="RandomHorizontalFlip"/> (when <paramref name="flip"/>),
    /// with the same draws and the same result, but as one pad and two gathers instead of per-sample ops.
    /// Works on any dtype, so the loader runs it on uint8 pixels before the float conversion.
    /// </summary>
    public static Tensor RandomCropAndFlip(Tensor images, int padding, bool flip, DeterministicRandom rng)
    {
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding));
        var n = (int)images.shape[0];
        var c = images.shape[1];
        var h = (int)images.shape[2];
        var w = (int)images.shape[3];
        var rows = new long[n * h];
        var cols = new long[n * w];
        for (var i = 0; i < n; i++)
        {
            var dy = padding == 0 ? 0 : rng.NextInt(2 * padding + 1);
            var dx = padding == 0 ? 0 : rng.NextInt(2 * padding + 1);
            for (var y = 0; y < h; y++) rows[i * h + y] = dy + y;
            for (var x = 0; x < w; x++) cols[i * w + x] = dx + x;
        }
        if (flip)
            for (var i = 0; i < n; i++)
                if (rng.NextBool()) Array.Reverse(cols, i * w, w);

        using var scope = NewDisposeScope();
        var padded = padding == 0 ? images : F.pad(images, [padding, padding, padding, padding], PaddingModes.Constant, 0.0);
        var wp = padded.shape[3];
        var rowIndex = tensor(rows, [n, 1, h, 1], ScalarType.Int64, images.device).expand(n, c, h, wp);
        var colIndex = tensor(cols, [n, 1, 1, w], ScalarType.Int64, images.device).expand(n, c, h, w);
        return padded.gather(2, rowIndex).gather(3, colIndex).MoveToOuterDisposeScope();
    }

    /// <summary>Mirrors each sample left-right with probability 1/2 (one draw per sample, in order).</summary>
    public static Tensor RandomHorizontalFlip(Tensor images, DeterministicRandom rng)
    {
        var n = (int)images.shape[0];
        var flipped = new List<long>(n);
        for (var i = 0; i < n; i++)
            if (rng.NextBool()) flipped.Add(i);
        if (flipped.Count == 0) return images.clone();
        using var scope = NewDisposeScope();
        var idx = tensor(flipped.ToArray(), [flipped.Count], ScalarType.Int64, images.device);
        var mirrored = images.index_select(0, idx).flip(3);
        return images.index_copy(0, idx, mirrored).MoveToOuterDisposeScope();
    }
}
