using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Checkpoints;

/// <summary>Builds a model from a backbone file or preset, with prompts from a layout or a prompt file.</summary>
public static class ModelLoader
{
    public static bool IsPromptFile(string prompts) =>
        prompts.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) || File.Exists(prompts);

    public static LoadedModel Load(ModelRequest request, Device device)
    {
        if (request.Backbone is null && request.Preset is null)
            throw new ArgumentException("name a model: --backbone FILE or --model PRESET");
        if (request.Backbone is not null && !File.Exists(request.Backbone))
            throw new FileNotFoundException($"backbone file not found: {request.Backbone}");

        if (IsPromptFile(request.Prompts))
            return LoadWithPromptFile(request, device);

        var prompts = PromptConfig.Parse(request.Prompts, request.Init);
        if (request.Backbone is null)
        {
            var preset = ModelPresets.Get(request.Preset!, request.Classes, request.ImageSize);
            var model = new VisionTransformer(preset, prompts, request.Seed);
            model.to(device);
            return new LoadedModel(model, $"preset {preset.Name}, random weights", null, null, null);
        }

        var config = ResolveConfig(request.Backbone, request.Preset, request.Classes, request.ImageSize);
        var loaded = BackboneFile.Load(request.Backbone, config, prompts, request.Seed, device);
        return new LoadedModel(loaded.Model, $"backbone {request.Backbone}", loaded.Fingerprint, null, loaded.Report);
    }

    private static LoadedModel LoadWithPromptFile(ModelRequest request, Device device)
    {
        if (!File.Exists(request.Prompts))
            throw new FileNotFoundException($"prompt file not found: {request.Prompts}");
        if (request.Backbone is null)
            throw new ArgumentException("a prompt file needs the backbone it was tuned on: add --backbone FILE");
        var info = PromptFile.ReadInfo(request.Prompts);
        var loaded = BackboneFile.Load(request.Backbone, info.Config, info.Prompts, request.Seed, device);
        try
        {
            var read = PromptFile.Load(request.Prompts, loaded.Model, loaded.Fingerprint);
            return new LoadedModel(loaded.Model, $"backbone {request.Backbone} + prompts {request.Prompts}", loaded.Fingerprint, read, loaded.Report);
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
    }

    private static VitConfig? ResolveConfig(string backbone, string? preset, int? classes, int? imageSize)
    {
        var config = preset is not null ? ModelPresets.Get(preset) : BackboneFile.ReadConfig(backbone);
        if (config is null)
            return null; // BackboneFile.Load explains that a raw timm file needs --model.
        if (classes is int k) config = config with { NumClasses = k };
        if (imageSize is int s) config = config with { ImageSize = s };
        config.Validate();
        return config;
    }
}
