using System.CommandLine;
using AdaptSharp.Checkpoints;
using AdaptSharp.Runtime;

namespace AdaptSharp.Cli;

/// <summary>The options that name a command's model (--backbone, --model, --img-size, --classes, --prompts), and its loading.</summary>
internal sealed class ModelOptions
{
    public Option<string?> Backbone { get; } = CommonOptions.Backbone();

    public Option<string?> Model { get; } = CommonOptions.Model();

    public Option<int?> ImageSize { get; } = CommonOptions.ImageSize();

    public Option<int?> Classes { get; } = CommonOptions.Classes();

    public Option<string?> Prompts { get; } = CommonOptions.PromptFile();

    public Option[] All => [Backbone, Model, ImageSize, Classes, Prompts];

    /// <summary>
    /// Loads the model the options name, with <paramref name="prompts"/> (a prompt file or layout; default: --prompts, else
    /// none), and prints the loader's notes to <paramref name="notes"/> (default: standard output).
    /// </summary>
    public LoadedModel Load(ParseResult result, string device, ModelUse use, string? prompts = null, TextWriter? notes = null)
    {
        var request = new ModelRequest(result.GetValue(Backbone), result.GetValue(Model), result.GetValue(ImageSize), result.GetValue(Classes),
            prompts ?? result.GetValue(Prompts) ?? "none")
        { Use = use };
        var loaded = ModelLoader.Load(request, TorchRuntime.ResolveDevice(device));
        foreach (var line in loaded.Notes)
            (notes ?? Console.Out).WriteLine(line);
        return loaded;
    }
}
