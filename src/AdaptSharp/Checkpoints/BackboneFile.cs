using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Checkpoints;

/// <summary>
/// Backbone files: a plain timm ViT safetensors file (timm names, F32, head included when the model has one, no
/// prompts) whose metadata also records the <see cref="VitConfig"/>, so AdaptSharp loads it without being told
/// the architecture while PyTorch users load it with timm as any other checkpoint.
/// Raw timm files (no AdaptSharp metadata) load too when the caller names the config.
/// </summary>
public static class BackboneFile
{
    /// <summary>Writes the model's backbone atomically and returns its fingerprint.</summary>
    public static string Save(string path, VisionTransformer model, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        // ExportState's intermediates (detach/cpu views) belong to this scope, not to the caller's.
        using var scope = torch.NewDisposeScope();
        var state = TimmCheckpoint.ExportState(model);
        try
        {
            var fingerprint = BackboneFingerprint.Of(state);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [CheckpointMetadata.Format] = "pt",
                [CheckpointMetadata.Kind] = CheckpointMetadata.BackboneKind,
                [CheckpointMetadata.FormatVersion] = CheckpointMetadata.CurrentFormatVersion,
                [CheckpointMetadata.LibraryVersion] = CheckpointMetadata.Version,
                [CheckpointMetadata.Config] = model.Config.ToJson(),
                [CheckpointMetadata.Fingerprint] = fingerprint,
            };
            CheckpointMetadata.AddExtras(metadata, extraMetadata);
            SafetensorsWriter.Write(path, state, metadata);
            return fingerprint;
        }
        finally
        {
            foreach (var t in state.Values)
                t.Dispose();
        }
    }

    /// <summary>The config stored by AdaptSharp, or null for a raw timm file.</summary>
    public static VitConfig? ReadConfig(string path)
    {
        if (PyTorchStateDict.IsPyTorchFile(path))
            return null; // a PyTorch state dict carries no architecture
        using var reader = SafetensorsReader.Open(path);
        return ReadConfig(reader);
    }

    /// <summary>
    /// Builds a model and loads the backbone into it. The architecture is <paramref name="config"/> when given
    /// (e.g. the stored config with another image size or class count), else the one stored in the file; a raw timm
    /// file needs it named. Prompts are initialised from <paramref name="seed"/>; the head is re-initialised when the
    /// file has none or another class count (see the report).
    /// </summary>
    public static LoadedBackbone Load(string path, VitConfig? config = null, PromptConfig? prompts = null, long seed = 0,
        Device? device = null)
    {
        if (PyTorchStateDict.IsPyTorchFile(path))
        {
            var architecture = config ?? throw CheckpointFormatException.For(path,
                "is a PyTorch state dict, which carries no architecture: name the model config (e.g. --model vit-base-patch16)");
            return Load(path, architecture, PyTorchStateDict.Read(path), new Dictionary<string, string>(), prompts, seed, device);
        }
        using var reader = SafetensorsReader.Open(path);
        CheckpointMetadata.RequireBackboneKind(reader);
        var stored = config ?? ReadConfig(reader) ?? throw CheckpointFormatException.For(path,
            "is a plain timm file without AdaptSharp metadata: name the model config (e.g. --model vit-base-patch16)");
        return Load(path, stored, reader.ReadAll(), reader.Metadata, prompts, seed, device);
    }

    /// <summary>Builds the model and imports <paramref name="state"/> (disposed here) with the timm import rules.</summary>
    private static LoadedBackbone Load(string path, VitConfig architecture, Dictionary<string, Tensor> state,
        IReadOnlyDictionary<string, string> metadata, PromptConfig? prompts, long seed, Device? device)
    {
        VisionTransformer? model = null;
        try
        {
            model = new VisionTransformer(architecture, prompts ?? PromptConfig.None, seed);
            var report = TimmCheckpoint.Import(model, state, path, BackboneFingerprint.Of(state), seed);
            if (device is not null)
                model.to(device);
            return new LoadedBackbone(model, report, metadata);
        }
        catch
        {
            model?.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in state.Values)
                t.Dispose();
        }
    }

    internal static VitConfig? ReadConfig(SafetensorsReader reader)
    {
        CheckpointMetadata.CheckVersion(reader.Metadata, reader.FilePath);
        return reader.Metadata.TryGetValue(CheckpointMetadata.Config, out var json)
            ? CheckpointMetadata.ParseConfig(json, reader.FilePath)
            : null;
    }
}
