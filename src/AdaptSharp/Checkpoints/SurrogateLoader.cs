using AdaptSharp.Models;
using static TorchSharp.torch;

namespace AdaptSharp.Checkpoints;

/// <summary>
/// Loads the surrogates of a transfer attack and checks that each can stand in for the evaluated model: same
/// input channels, a trained head for the same classes (from the backbone file or its prompt file; the loader
/// refuses a random one), and prompts tuned on that very backbone. Every refusal is one line naming the file.
/// </summary>
public static class SurrogateLoader
{
    /// <param name="preset">Architecture for raw timm files without AdaptSharp metadata (--surrogate-model).</param>
    /// <param name="target">The evaluated model's config: channels and classes must match, the input size may not.</param>
    public static SurrogateModel Load(SurrogateSpec spec, string? preset, VitConfig target, Device device)
    {
        if (!File.Exists(spec.Backbone))
            throw new FileNotFoundException($"surrogate backbone file not found: {spec.Backbone}");
        if (spec.Prompts is not null && !File.Exists(spec.Prompts))
            throw new FileNotFoundException($"surrogate prompt file not found: {spec.Prompts}");

        var hasMetadata = BackboneFile.ReadConfig(spec.Backbone) is not null;
        if (!hasMetadata && preset is null)
            throw CheckpointFormatException.For(spec.Backbone,
                "is a plain timm file without AdaptSharp metadata: name its architecture with --surrogate-model PRESET");
        // inference use: the class count comes from the checkpoint's (or the prompt file's) trained head, never random
        var request = new ModelRequest(spec.Backbone, hasMetadata ? null : preset, Prompts: spec.Prompts ?? "none")
        {
            Use = ModelUse.Inference,
        };
        var loaded = ModelLoader.Load(request, device);
        try
        {
            var config = loaded.Model.Config;
            if (config.InChannels != target.InChannels)
                throw CheckpointFormatException.For(spec.Backbone,
                    $"surrogate takes {config.InChannels}-channel images, the evaluated model {target.InChannels}-channel ones");
            if (config.NumClasses != target.NumClasses)
                throw CheckpointFormatException.For(spec.Prompts ?? spec.Backbone,
                    $"surrogate has {config.NumClasses} classes, the evaluated model {target.NumClasses}");
            return new SurrogateModel(spec.Name, loaded.Model);
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
    }

    /// <summary>Loads every surrogate, disposing those already loaded if one fails.</summary>
    public static IReadOnlyList<SurrogateModel> LoadAll(IReadOnlyList<SurrogateSpec> specs, string? preset, VitConfig target, Device device)
    {
        var result = new List<SurrogateModel>();
        try
        {
            foreach (var spec in specs)
                result.Add(Load(spec, preset, target, device));
            return result;
        }
        catch
        {
            foreach (var s in result)
                s.Dispose();
            throw;
        }
    }
}
