namespace AdaptSharp.Models;

/// <summary>Named architectures. The vit-*-patch16 presets follow timm and its in21k normalisation.</summary>
public static class ModelPresets
{
    /// <summary>
    /// The embedded default's backbone for 28x28 grey images on a CPU: width 48, depth 8, MLP 4x (230k parameters).
    /// Narrower and deeper than <see cref="SmallCpuPreset"/>, so deep:4 prompts + head + patch embedding are 1.9% of it.
    /// </summary>
    public const string CpuPreset = "vit-fmnist-cpu-d8";

    /// <summary>The first CPU preset (width 64, depth 4, MLP 2x; 139k parameters); the benchmarks' CPU shape.</summary>
    public const string SmallCpuPreset = "vit-fmnist-cpu";

    private static readonly Dictionary<string, VitConfig> Presets = new(StringComparer.OrdinalIgnoreCase)
    {
        ["vit-tiny-patch16"] = new() { Name = "vit-tiny-patch16", Width = 192, Depth = 12, Heads = 3 },
        ["vit-small-patch16"] = new() { Name = "vit-small-patch16", Width = 384, Depth = 12, Heads = 6 },
        ["vit-base-patch16"] = new() { Name = "vit-base-patch16", Width = 768, Depth = 12, Heads = 12 },
        ["vit-large-patch16"] = new() { Name = "vit-large-patch16", Width = 1024, Depth = 24, Heads = 16 },
        [SmallCpuPreset] = FashionMnistCpu(SmallCpuPreset, width: 64, depth: 4, mlpRatio: 2.0),
        [CpuPreset] = FashionMnistCpu(CpuPreset, width: 48, depth: 8, mlpRatio: 4.0),
    };

    /// <summary>A CPU ViT for 28x28 grey Fashion-MNIST images: patches of 7, 4 heads, 10 classes, the dataset's mean and std.</summary>
    private static VitConfig FashionMnistCpu(string name, int width, int depth, double mlpRatio) => new()
    {
        Name = name,
        ImageSize = 28,
        PatchSize = 7,
        InChannels = 1,
        Width = width,
        Depth = depth,
        Heads = 4,
        MlpRatio = mlpRatio,
        NumClasses = 10,
        Mean = [0.2860f],
        Std = [0.3530f],
    };

    public static IReadOnlyCollection<string> Names => Presets.Keys;

    public static VitConfig Get(string name, int? numClasses = null, int? imageSize = null)
    {
        if (!Presets.TryGetValue(name, out var config))
            throw new ArgumentException($"unknown model preset '{name}' (known: {string.Join(", ", Presets.Keys)})");
        if (numClasses is int k) config = config with { NumClasses = k };
        if (imageSize is int s) config = config with { ImageSize = s };
        config.Validate();
        return config;
    }
}
