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
    public static LoadedModel Load(string? backbone, string? preset, int? imageSize, int? classes, string prompts, string device)
    {
        if (backbone is null && preset is null)
            throw new ArgumentException("name a model: --backbone FILE or --model PRESET");
        if (backbone is not null)
            throw new ArgumentException("--backbone files are not supported yet");
        var config = ModelPresets.Get(preset!, classes, imageSize);
        var model = new VisionTransformer(config, PromptConfig.Parse(prompts));
        model.to(TorchRuntime.ResolveDevice(device));
        return new LoadedModel(model, $"preset {config.Name}, random weights");
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
