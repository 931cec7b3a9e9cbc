using AdaptSharp.Checkpoints;
using AdaptSharp.Models;
using AdaptSharp.Runtime;
using TorchSharp;

namespace AdaptSharp.Cli;

/// <summary>A model built from the command line's --backbone/--model/--prompts options.</summary>
public sealed record LoadedModel(VisionTransformer Model, string Source) : IDisposable
{
    public void Dispose() => Model.Dispose();
}

public sealed record ParameterGroup(string Group, long Parameters, long Trainable);

public static class ModelLoading
{
    /// <summary>
    /// <paramref name="prompts"/> is a layout (deep:25, shallow:10, none) or a prompt file, which needs the
    /// --backbone it was trained on. A backbone file's stored config is used unless --model names a preset;
    /// --img-size/--classes override either.
    /// </summary>
    public static LoadedModel Load(string? backbone, string? preset, int? imageSize, int? classes, string prompts, string device)
    {
        if (backbone is null && preset is null)
            throw new ArgumentException("name a model: --backbone FILE or --model PRESET");
        var promptFile = IsPromptFile(prompts) ? prompts : null;
        if (backbone is not null)
            return LoadBackbone(backbone, preset, imageSize, classes, prompts, promptFile, device);
        if (promptFile is not null)
            throw new ArgumentException($"prompt file {promptFile} needs the --backbone it was trained on");
        var config = ModelPresets.Get(preset!, classes, imageSize);
        var model = new VisionTransformer(config, PromptConfig.Parse(prompts));
        model.to(TorchRuntime.ResolveDevice(device));
        return new LoadedModel(model, $"preset {config.Name}, random weights");
    }

    private static bool IsPromptFile(string prompts) =>
        File.Exists(prompts) || prompts.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);

    private static LoadedModel LoadBackbone(string backbone, string? preset, int? imageSize, int? classes, string prompts,
        string? promptFile, string device)
    {
        if (!File.Exists(backbone))
            throw new FileNotFoundException($"backbone file not found: {backbone}");
        if (promptFile is not null && !File.Exists(promptFile))
            throw new FileNotFoundException($"prompt file not found: {promptFile}");
        var info = promptFile is null ? null : PromptFile.ReadInfo(promptFile);
        var promptConfig = info?.Prompts ?? PromptConfig.Parse(prompts);
        VitConfig? config = preset is not null ? ModelPresets.Get(preset, classes, imageSize) : BackboneFile.ReadConfig(backbone);
        if (config is not null && preset is null)
        {
            if (classes is int k) config = config with { NumClasses = k };
            if (imageSize is int s) config = config with { ImageSize = s };
        }
        if (config is not null && info?.Config is { } trained && promptFile is not null)
            config = config with { NumClasses = trained.NumClasses, ImageSize = trained.ImageSize };
        var loaded = BackboneFile.Load(backbone, config, promptConfig, device: TorchRuntime.ResolveDevice(device));
        try
        {
            if (promptFile is not null)
                PromptFile.Load(promptFile, loaded.Model, loaded.Fingerprint);
            var source = $"backbone {Path.GetFileName(backbone)} ({BackboneFingerprint.Short(loaded.Fingerprint)})" +
                         (promptFile is null ? "" : $", prompts {Path.GetFileName(promptFile)}");
            return new LoadedModel(loaded.Model, source);
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
    }

    public static IReadOnlyList<ParameterGroup> GroupCounts(VisionTransformer model)
    {
        var groups = new Dictionary<string, (long P, long T)>();
        foreach (var (name, p) in model.named_parameters())
        {
            var group = name == VisionTransformer.PromptParameterName ? "prompts"
                : name.StartsWith("head.") ? "head"
                : name.StartsWith("patch_embed.") ? "patch embedding"
                : name.StartsWith("blocks.") ? "blocks"
                : "embeddings + norm";
            groups.TryGetValue(group, out var v);
            groups[group] = (v.P + p.numel(), v.T + (p.requires_grad ? p.numel() : 0));
        }
        return groups.Select(kv => new ParameterGroup(kv.Key, kv.Value.P, kv.Value.T)).ToList();
    }
}
