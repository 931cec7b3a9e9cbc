using AdaptSharp.Checkpoints;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Data;

/// <summary>Reads model inputs for prediction: a float NCHW .npy in [0,1], or a folder of PNG/JPEG images.</summary>
internal static class ImageInputs
{
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg"];

    /// <summary>
    /// Returns float32 images shaped for the model, and the source names (files, or indices for .npy). A .npy is
    /// (N,C,H,W), or (N,H,W) for a one-channel model; <paramref name="notice"/> is told when the latter was assumed.
    /// </summary>
    public static (Tensor Images, IReadOnlyList<string> Names) Read(string input, VitConfig config, Action<string>? notice = null)
    {
        if (Directory.Exists(input))
            return ReadFolder(input, config);
        if (!File.Exists(input))
            throw new FileNotFoundException($"input not found: {input}");
        var array = NpyFile.Read(input);
        try
        {
            var batch = AsBatch(array, input, config, notice);
            using var view = ReferenceEquals(batch, array) ? null : batch;
            var images = ToModelInput(batch, input, config);
            return (images, Enumerable.Range(0, (int)images.shape[0]).Select(i => i.ToString()).ToList());
        }
        finally
        {
            array.Dispose();
        }
    }

    /// <summary>A .npy array as a batch: (N,C,H,W) as is; (N,H,W) only for a one-channel model, said so.</summary>
    private static Tensor AsBatch(Tensor array, string label, VitConfig config, Action<string>? notice)
    {
        var shape = NpyFile.FormatShape(array.shape);
        if (array.dim() == 3)
        {
            if (config.InChannels != 1)
                throw new ArgumentException(
                    $"{label}: 3-D array {shape} is ambiguous for a {config.InChannels}-channel model: save images as (N,C,H,W), e.g. one image as (1,{string.Join(",", array.shape)})");
            notice?.Invoke($"{label}: 3-D array {shape} read as (N,H,W): {array.shape[0]} one-channel image(s) of {array.shape[1]}x{array.shape[2]}");
            array = array.unsqueeze(1);
        }
        else if (array.dim() != 4)
            throw new ArgumentException($"{label}: expected an (N,C,H,W) array{(config.InChannels == 1 ? " or (N,H,W)" : "")}, got shape {shape}");
        if (array.shape[0] == 0)
            throw new ArgumentException($"{label}: the array holds no images (shape {shape})");
        if (array.shape[2] == 0 || array.shape[3] == 0)
            throw new ArgumentException($"{label}: images of size {array.shape[2]}x{array.shape[3]} (shape {shape})");
        return array;
    }

    private static Tensor ToModelInput(Tensor array, string label, VitConfig config)
    {
        using var scope = NewDisposeScope();
        return Convert(array, label, config).MoveToOuterDisposeScope();
    }

    private static Tensor Convert(Tensor array, string label, VitConfig config)
    {
        if (array.shape[1] != config.InChannels && array.shape[1] is not (1 or 3))
            throw new ArgumentException($"{label}: expected {config.InChannels} channel(s) in dimension 1 (NCHW), got shape ({string.Join(",", array.shape)})");
        Tensor x = array.dtype switch
        {
            ScalarType.Byte => array.to_type(ScalarType.Float32).div_(255.0),
            ScalarType.Float32 or ScalarType.Float64 or ScalarType.Float16 => array.to_type(ScalarType.Float32),
            _ => throw new ArgumentException($"{label}: expected float32/float64 in [0,1] or uint8, got {array.dtype}"),
        };
        var min = x.min().item<float>();
        var max = x.max().item<float>();
        if (min < 0 || max > 1 || float.IsNaN(min) || float.IsNaN(max))
            throw new ArgumentException($"{label}: values must lie in [0,1] (found {min}..{max}); the model normalises internally");
        var channels = Transforms.MatchChannels(x, config.InChannels);
        return channels.shape[2] == config.ImageSize && channels.shape[3] == config.ImageSize
            ? channels
            : Transforms.Resize(channels, config.ImageSize, config.ImageSize).clamp_(0, 1);
    }

    private static (Tensor Images, IReadOnlyList<string> Names) ReadFolder(string folder, VitConfig config)
    {
        var files = Directory.EnumerateFiles(folder)
            .Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
            throw new ArgumentException($"{folder}: no .png/.jpg/.jpeg images in the folder");
        var batch = new List<Tensor>();
        try
        {
            foreach (var file in files)
            {
                var (pixels, h, w) = ImageFolderReader.DecodeRgb(file);
                // DecodeRgb returns planar (C,H,W) bytes.
                using var chw = tensor(pixels, new long[] { 1, 3, h, w });
                batch.Add(ToModelInput(chw, file, config));
            }
            return (cat(batch, 0), files.Select(Path.GetFileName).ToList()!);
        }
        finally
        {
            foreach (var t in batch) t.Dispose();
        }
    }
}
