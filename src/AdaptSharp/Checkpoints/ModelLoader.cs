using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Checkpoints;

/// <summary>
/// Builds a model from a backbone file or preset, with prompts from a layout or a prompt file. The class count comes
/// from <see cref="ModelRequest.Classes"/>, else from the checkpoint's head (as timm does), else from the backbone's
/// config or the preset. A prompt file's config must equal the model the backbone (with the request's overrides)
/// gives. For <see cref="ModelUse.Inference"/> nothing random is accepted: no re-initialised head, no preset weights.
/// </summary>
public static class ModelLoader
{
    /// <summary>True when <paramref name="prompts"/> names a prompt file rather than a layout (decided by spelling).</summary>
    public static bool IsPromptFile(string prompts) => !PromptConfig.IsLayout(prompts);

    public static LoadedModel Load(ModelRequest request, Device device)
    {
        if (request.Backbone is null && request.Preset is null)
            throw new ArgumentException("name a model: --backbone FILE or --model PRESET");
        if (request.Classes is < 0)
            throw new ArgumentException($"--classes must be >= 1, got {request.Classes}");
        if (request.ImageSize is < 1)
            throw new ArgumentException($"--img-size must be >= 1, got {request.ImageSize}");
        if (request.Backbone is not null && !File.Exists(request.Backbone))
            throw new FileNotFoundException($"backbone file not found: {request.Backbone}");
        var promptFile = IsPromptFile(request.Prompts) ? request.Prompts : null;
        if (promptFile is not null)
        {
            if (!File.Exists(promptFile))
                throw new FileNotFoundException($"prompt file not found: {promptFile}");
            if (request.Backbone is null)
                throw new ArgumentException("a prompt file needs the backbone it was tuned on: add --backbone FILE");
        }

        if (request.Backbone is null)
        {
            if (request.Use == ModelUse.Inference)
                throw new ArgumentException($"--model {request.Preset} alone has random weights: name the trained backbone with --backbone FILE");
            var preset = ModelPresets.Get(request.Preset!, request.Classes, request.ImageSize);
            var prompts = PromptConfig.Parse(request.Prompts, request.Init);
            var model = new VisionTransformer(preset, prompts, request.Seed);
            model.to(device);
            return new LoadedModel(model, $"preset {preset.Name}, random weights", null, null, null);
        }

        var plan = Plan(request, promptFile);
        var loaded = BackboneFile.Load(request.Backbone, plan.Config, plan.Prompts, request.Seed, device);
        try
        {
            PromptFileInfo? read = null;
            if (promptFile is not null)
                read = PromptFile.Load(promptFile, loaded.Model, loaded.Fingerprint);
            var report = loaded.Report;
            if (plan.HeadFromPromptFile)
                report = report with { Reinitialised = [] }; // the prompt file's trained head replaced it
            if (request.Use == ModelUse.Inference && report.Reinitialised.Count > 0)
                throw CheckpointFormatException.For(request.Backbone, $"the head would be re-initialised ({report.Reinitialised[0].Detail}): predict/eval never run a random head");
            var source = promptFile is null ? $"backbone {request.Backbone}" : $"backbone {request.Backbone} + prompts {promptFile}";
            return new LoadedModel(loaded.Model, source, loaded.Fingerprint, read, report)
            {
                Notes = [.. plan.Notes, .. report.Summary()],
            };
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
    }

    private sealed record LoadPlan(VitConfig Config, PromptConfig Prompts, bool HeadFromPromptFile, IReadOnlyList<string> Notes);

    /// <summary>The model to build, decided from the files' headers before any tensor is read.</summary>
    private static LoadPlan Plan(ModelRequest request, string? promptFile)
    {
        var backbone = request.Backbone!;
        var (stored, shapes) = ReadHeader(backbone);
        VitConfig baseConfig;
        if (stored is not null)
        {
            baseConfig = stored;
            if (request.Preset is not null)
            {
                var differences = ArchitectureDifferences(ModelPresets.Get(request.Preset), stored);
                if (differences.Count > 0)
                    throw new ArgumentException(
                        $"--model {request.Preset} contradicts {backbone}, which records its own architecture ({string.Join(", ", differences)}): drop --model");
            }
        }
        else
        {
            baseConfig = request.Preset is not null
                ? ModelPresets.Get(request.Preset)
                : throw CheckpointFormatException.For(backbone, "is a plain timm file without AdaptSharp metadata: name the model config (e.g. --model vit-base-patch16)");
        }

        var head = ReadHead(shapes, baseConfig.Width);
        var info = promptFile is null ? null : PromptFile.ReadInfo(promptFile);
        var headFromPromptFile = info is not null && info.Trainable.HasFlag(TrainableSet.Head) && info.Config!.NumClasses > 0;
        var notes = new List<string>();

        int classes;
        if (headFromPromptFile)
        {
            classes = info!.Config!.NumClasses;
            if (request.Classes is int c && c != classes)
                throw new ArgumentException(request.Use == ModelUse.Training
                    ? $"the training data has {c} classes but the prompt file {promptFile} has a trained {classes}-class head: continue from prompts tuned on this data"
                    : $"--classes {c} contradicts the prompt file {promptFile}, whose trained head has {classes} classes: drop --classes");
        }
        else
        {
            classes = request.Classes ?? head.Classes ?? baseConfig.NumClasses;
            if (request.Classes is null && head.Classes is int k && stored is null)
                notes.Add($"classes: {k}, from the checkpoint's head ({TimmCheckpoint.HeadWeightName} [{k},{baseConfig.Width}])");
        }
        var config = baseConfig with { ImageSize = request.ImageSize ?? baseConfig.ImageSize, NumClasses = classes };
        config.Validate();

        if (!headFromPromptFile && request.Use == ModelUse.Inference)
        {
            var problem = head.Problem
                ?? (stored is not null && head.Classes is int k && stored.NumClasses != k
                    ? $"its config records {stored.NumClasses} classes but {TimmCheckpoint.HeadWeightName} has {k} rows: the file is inconsistent"
                    : null)
                ?? (classes == 0 ? "has no classification head (0 classes)" : null);
            if (problem is not null)
                throw CheckpointFormatException.For(backbone,
                    $"{problem}; predict/eval never run a re-initialised head: use a backbone with its trained head, or pass a prompt file with a trained head (--prompts FILE)");
            if (request.Classes is int c && head.Classes is int hk && c != hk)
                throw new ArgumentException(
                    $"--classes {c} differs from {backbone}'s head ({hk} classes): predict/eval use the checkpoint's head, so drop --classes (or train a {c}-class head with adapt tune)");
        }

        PromptConfig prompts;
        if (info is not null)
        {
            var differences = PromptFile.ConfigDifferences(info.Config!, config);
            if (differences.Count > 0)
            {
                var hint = request.ImageSize is null && info.Config!.ImageSize != config.ImageSize && differences.Count == 1
                    ? $": pass --img-size {info.Config.ImageSize} to run the backbone at the size the prompts were tuned at"
                    : ": load the backbone and settings the prompts were tuned with";
                throw CheckpointFormatException.For(promptFile!,
                    $"was tuned for another model than {backbone} gives ({string.Join(", ", differences)}){hint}");
            }
            prompts = info.Prompts!;
        }
        else
        {
            prompts = PromptConfig.Parse(request.Prompts, request.Init);
        }
        prompts.CheckFits(config);
        return new LoadPlan(config, prompts, headFromPromptFile, notes);
    }

    /// <summary>The stored config (null for a raw timm file or a PyTorch state dict) and every tensor's shape.</summary>
    private static (VitConfig? Stored, IReadOnlyDictionary<string, long[]> Shapes) ReadHeader(string backbone)
    {
        if (PyTorchStateDict.IsPyTorchFile(backbone))
            return (null, PyTorchStateDict.ReadShapes(backbone));
        using var reader = SafetensorsReader.Open(backbone);
        CheckpointMetadata.RequireBackboneKind(reader);
        return (BackboneFile.ReadConfig(reader), reader.Entries.ToDictionary(e => e.Name, e => e.Shape, StringComparer.Ordinal));
    }

    /// <summary>The checkpoint head's class count when it is a well-formed [K, width] head, else why not.</summary>
    private static (int? Classes, string? Problem) ReadHead(IReadOnlyDictionary<string, long[]> shapes, int width)
    {
        static string Text(long[] shape) => "[" + string.Join(",", shape) + "]";
        var hasWeight = shapes.TryGetValue(TimmCheckpoint.HeadWeightName, out var weight);
        var hasBias = shapes.TryGetValue(TimmCheckpoint.HeadBiasName, out var bias);
        if (!hasWeight && !hasBias)
            return (null, "has no classification head (no head.weight)");
        if (!hasWeight || !hasBias)
            return (null, $"has only {(hasWeight ? TimmCheckpoint.HeadWeightName : TimmCheckpoint.HeadBiasName)}");
        if (weight!.Length != 2 || weight[1] != width || weight[0] < 1 || weight[0] > int.MaxValue)
            return (null, $"{TimmCheckpoint.HeadWeightName} has shape {Text(weight)}, expected [classes,{width}] (transposed?)");
        if (bias!.Length != 1 || bias[0] != weight[0])
            return (null, $"{TimmCheckpoint.HeadBiasName} has shape {Text(bias)}, expected [{weight[0]}]");
        return ((int)weight[0], null);
    }

    /// <summary>Differences that make two configs different networks (name, input size and class count aside).</summary>
    private static List<string> ArchitectureDifferences(VitConfig preset, VitConfig stored) =>
        PromptFile.ConfigDifferences(preset with { ImageSize = stored.ImageSize, NumClasses = stored.NumClasses }, stored, "the preset", "the file");
}
