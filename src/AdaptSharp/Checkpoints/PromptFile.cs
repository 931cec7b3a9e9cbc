using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Checkpoints;

/// <summary>
/// Prompt files: a safetensors file with only the trained tensors (prompt_tokens, plus head.* and/or patch_embed.*
/// when those were trained), tied by fingerprint to the backbone they were trained on. Full fine-tuning is not a
/// prompt file: save the whole backbone with <see cref="BackboneFile"/> (and, if it has prompts, a prompt file with
/// <see cref="TrainableSet.Prompts"/> whose fingerprint is that new backbone's).
/// </summary>
public static class PromptFile
{
    public static void Save(string path, VisionTransformer model, PromptFileInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (info.Trainable.HasFlag(TrainableSet.Backbone))
            throw new ArgumentException(
                "a prompt file holds prompts, head and patch embedding only: after full fine-tuning save the backbone file (and the prompts against its fingerprint)");
        if (string.IsNullOrWhiteSpace(info.BackboneFingerprint))
            throw new ArgumentException("a prompt file needs the fingerprint of the backbone it was trained on");
        if (info.Trainable.HasFlag(TrainableSet.Head) && model.Head is null)
            throw new ArgumentException("the trainable set includes the head but the model has none (0 classes)");

        var selected = model.state_dict()
            .Where(kv => IsStored(kv.Key, info.Trainable))
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        if (selected.Count == 0)
            throw new ArgumentException("nothing to save: the model has no prompts and the trainable set names neither head nor patch embedding");

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [CheckpointMetadata.Format] = "pt",
            [CheckpointMetadata.Kind] = CheckpointMetadata.PromptsKind,
            [CheckpointMetadata.FormatVersion] = CheckpointMetadata.CurrentFormatVersion,
            [CheckpointMetadata.LibraryVersion] = CheckpointMetadata.Version,
            [CheckpointMetadata.Config] = model.Config.ToJson(),
            [CheckpointMetadata.Prompts] = model.PromptConfig.ToString(),
            [CheckpointMetadata.PromptInit] = model.PromptConfig.Init.ToString(),
            [CheckpointMetadata.Trainable] = info.Trainable.ToString(),
            [CheckpointMetadata.Method] = info.Method,
            [CheckpointMetadata.ThreatModel] = info.ThreatModel,
            [CheckpointMetadata.BackboneFingerprint] = info.BackboneFingerprint,
        };
        CheckpointMetadata.AddExtras(metadata, info.Extra);

        using var scope = NewDisposeScope();
        var tensors = selected.ToDictionary(kv => kv.Key, kv => kv.Value.detach().to(ScalarType.Float32, CPU).contiguous(),
            StringComparer.Ordinal);
        SafetensorsWriter.Write(path, tensors, metadata);
    }

    /// <summary>Reads the metadata only (to build the matching model before loading).</summary>
    public static PromptFileInfo ReadInfo(string path)
    {
        using var reader = SafetensorsReader.Open(path);
        return ReadInfo(reader);
    }

    /// <summary>
    /// Loads the prompt file into <paramref name="model"/> after checking that it was trained on the backbone with
    /// <paramref name="backboneFingerprint"/>, for the model's architecture and prompt layout, and that every tensor's
    /// name and shape fit. Nothing is copied unless everything fits.
    /// </summary>
    public static PromptFileInfo Load(string path, VisionTransformer model, string backboneFingerprint)
    {
        using var reader = SafetensorsReader.Open(path);
        var info = ReadInfo(reader);
        if (!string.Equals(info.BackboneFingerprint, backboneFingerprint, StringComparison.OrdinalIgnoreCase))
            throw CheckpointFormatException.For(path,
                $"prompts were trained on backbone {BackboneFingerprint.Short(info.BackboneFingerprint)} but the loaded backbone is {BackboneFingerprint.Short(backboneFingerprint)}: load the backbone they were trained on");
        var differences = ConfigDifferences(info.Config!, model.Config);
        if (differences.Count > 0)
            throw CheckpointFormatException.For(path,
                $"was saved for another model config ({string.Join(", ", differences)})");
        var prompts = info.Prompts!;
        if (prompts.Mode != model.PromptConfig.Mode || prompts.Length != model.PromptConfig.Length)
            throw CheckpointFormatException.For(path,
                $"holds {prompts} prompts but the model was built with {model.PromptConfig}");

        var targets = model.state_dict();
        if (model.HasPrompts && !reader.Contains(VisionTransformer.PromptParameterName))
            throw CheckpointFormatException.For(path, $"missing tensor '{VisionTransformer.PromptParameterName}'");
        // A file whose metadata says the head or patch embedding was trained must carry those tensors: falling back
        // to the backbone's would silently run another model than the one that was tuned.
        foreach (var required in RequiredTensors(info.Trainable, model))
        {
            if (!reader.Contains(required))
                throw CheckpointFormatException.For(path,
                    $"metadata says {info.Trainable} were trained but the file lacks tensor '{required}': refusing to fall back to the backbone's");
        }
        foreach (var entry in reader.Entries)
        {
            var name = entry.Name;
            if (!IsStored(name, TrainableSet.Prompts | TrainableSet.Head | TrainableSet.PatchEmbed) || !targets.ContainsKey(name))
                throw CheckpointFormatException.For(path, $"unexpected tensor '{name}' (a prompt file holds prompt_tokens, head.* and patch_embed.* only)");
            if (!entry.Shape.SequenceEqual(targets[name].shape))
                throw CheckpointFormatException.For(path,
                    $"tensor '{name}' has shape {entry.ShapeText} but the model expects [{string.Join(",", targets[name].shape)}]");
            if (!entry.DType.IsFloatingPoint())
                throw CheckpointFormatException.For(path, $"tensor '{name}' is stored as {entry.DType}, expected floating point");
        }

        var values = reader.ReadAll();
        try
        {
            foreach (var (name, value) in values)
                TimmCheckpoint.RequireFinite(value, name, path);
            using (no_grad())
            {
                foreach (var (name, value) in values)
                    targets[name].copy_(value);
            }
        }
        finally
        {
            foreach (var t in values.Values)
                t.Dispose();
        }
        return info;
    }

    private static IEnumerable<string> RequiredTensors(TrainableSet trainable, VisionTransformer model)
    {
        if (trainable.HasFlag(TrainableSet.Head) && model.Head is not null)
        {
            yield return TimmCheckpoint.HeadWeightName;
            yield return TimmCheckpoint.HeadBiasName;
        }
        if (trainable.HasFlag(TrainableSet.PatchEmbed))
        {
            yield return TimmCheckpoint.PatchKernelName;
            yield return "patch_embed.proj.bias";
        }
    }

    private static bool IsStored(string name, TrainableSet trainable) =>
        name == VisionTransformer.PromptParameterName
            || (trainable.HasFlag(TrainableSet.Head) && name.StartsWith("head.", StringComparison.Ordinal))
            || (trainable.HasFlag(TrainableSet.PatchEmbed) && name.StartsWith("patch_embed.", StringComparison.Ordinal));

    private static PromptFileInfo ReadInfo(SafetensorsReader reader)
    {
        var file = reader.FilePath;
        var metadata = reader.Metadata;
        if (!metadata.TryGetValue(CheckpointMetadata.Kind, out var kind))
            throw CheckpointFormatException.For(file, "is not an AdaptSharp prompt file (no 'adaptsharp.kind' metadata)");
        if (kind != CheckpointMetadata.PromptsKind)
            throw CheckpointFormatException.For(file, $"is an AdaptSharp {kind} file, not a prompt file");
        CheckpointMetadata.CheckVersion(metadata, file);

        string Required(string key) => metadata.TryGetValue(key, out var v)
            ? v
            : throw CheckpointFormatException.For(file, $"prompt file lacks metadata '{key}'");

        var config = CheckpointMetadata.ParseConfig(Required(CheckpointMetadata.Config), file);
        var init = Enum.TryParse<PromptInit>(Required(CheckpointMetadata.PromptInit), out var i) && Enum.IsDefined(i)
            ? i
            : throw CheckpointFormatException.For(file, $"bad prompt init '{metadata[CheckpointMetadata.PromptInit]}'");
        PromptConfig prompts;
        try
        {
            prompts = PromptConfig.Parse(Required(CheckpointMetadata.Prompts), init);
        }
        catch (ArgumentException e)
        {
            throw CheckpointFormatException.For(file, e.Message, e);
        }
        var trainable = Enum.TryParse<TrainableSet>(Required(CheckpointMetadata.Trainable), out var t)
            ? t
            : throw CheckpointFormatException.For(file, $"bad trainable set '{metadata[CheckpointMetadata.Trainable]}'");

        return new PromptFileInfo
        {
            BackboneFingerprint = Required(CheckpointMetadata.BackboneFingerprint),
            Trainable = trainable,
            Method = metadata.GetValueOrDefault(CheckpointMetadata.Method, ""),
            ThreatModel = metadata.GetValueOrDefault(CheckpointMetadata.ThreatModel, ""),
            Extra = CheckpointMetadata.Extras(metadata),
            Config = config,
            Prompts = prompts,
            TensorNames = reader.Names.ToList(),
        };
    }

    /// <summary>Every field in which two configs differ (the name aside), as "what A in the file, B in the model".</summary>
    internal static List<string> ConfigDifferences(VitConfig file, VitConfig model, string fileLabel = "the file", string modelLabel = "the model")
    {
        var result = new List<string>();
        void Compare<T>(string what, T a, T b)
        {
            if (!EqualityComparer<T>.Default.Equals(a, b))
                result.Add($"{what} {a} in {fileLabel}, {b} in {modelLabel}");
        }
        Compare("image size", file.ImageSize, model.ImageSize);
        Compare("patch size", file.PatchSize, model.PatchSize);
        Compare("in-channels", file.InChannels, model.InChannels);
        Compare("width", file.Width, model.Width);
        Compare("depth", file.Depth, model.Depth);
        Compare("heads", file.Heads, model.Heads);
        Compare("mlp ratio", file.MlpRatio, model.MlpRatio);
        Compare("classes", file.NumClasses, model.NumClasses);
        Compare("mean", string.Join("/", file.Mean), string.Join("/", model.Mean));
        Compare("std", string.Join("/", file.Std), string.Join("/", model.Std));
        return result;
    }
}
