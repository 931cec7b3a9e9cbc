using AdaptSharp.Checkpoints;
using AdaptSharp.Models;
using AdaptSharp.Runtime;

namespace AdaptSharp.Cli;

internal sealed record ParameterGroup(string Group, long Parameters, long Trainable);

internal static class ModelLoading
{
    public static LoadedModel Load(string? backbone, string? preset, int? imageSize, int? classes, string prompts, string device,
        ModelUse use, long seed = 0, TextWriter? notes = null)
    {
        var loaded = ModelLoader.Load(new ModelRequest(backbone, preset, imageSize, classes, prompts, Seed: seed) { Use = use },
            TorchRuntime.ResolveDevice(device));
        foreach (var line in loaded.Notes)
            (notes ?? Console.Out).WriteLine(line);
        return loaded;
    }

    public static IReadOnlyList<ParameterGroup> GroupCounts(VisionTransformer model)
    {
        var groups = new Dictionary<string, (long P, long T)>();
        foreach (var (name, p) in model.named_parameters())
        {
            var group = VisionTransformer.GroupOf(name) switch
            {
                TrainableSet.Prompts => "prompts",
                TrainableSet.Head => "head",
                TrainableSet.PatchEmbed => "patch embedding",
                _ => name.StartsWith("blocks.", StringComparison.Ordinal) ? "blocks" : "embeddings + norm",
            };
            groups.TryGetValue(group, out var v);
            groups[group] = (v.P + p.numel(), v.T + (p.requires_grad ? p.numel() : 0));
        }
        return groups.Select(kv => new ParameterGroup(kv.Key, kv.Value.P, kv.Value.T)).ToList();
    }
}
