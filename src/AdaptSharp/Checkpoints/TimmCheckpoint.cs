using System.Text.RegularExpressions;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Checkpoints;

/// <summary>
/// Moves ViT weights between a <see cref="VisionTransformer"/> and timm's state-dict names
/// (cls_token, pos_embed, patch_embed.proj.*, blocks.{i}.*, norm.*, head.*).
/// A raw timm file carries no architecture, so the caller builds the model from a <see cref="VitConfig"/> first.
/// </summary>
internal static partial class TimmCheckpoint
{
    public const string PosEmbedName = "pos_embed";
    public const string PatchKernelName = "patch_embed.proj.weight";
    public const string HeadWeightName = "head.weight";
    public const string HeadBiasName = "head.bias";

    /// <summary>Loads a timm ViT safetensors file into <paramref name="model"/> (prompts are left alone).</summary>
    public static ImportReport Import(VisionTransformer model, string path, long seed = 0)
    {
        using var reader = SafetensorsReader.Open(path);
        CheckpointMetadata.RequireBackboneKind(reader);
        var state = reader.ReadAll();
        try
        {
            return Import(model, state, path, BackboneFingerprint.Of(state), seed);
        }
        finally
        {
            foreach (var t in state.Values)
                t.Dispose();
        }
    }

    /// <summary>
    /// Copies a timm-named state into <paramref name="model"/>. Everything is checked before anything is copied, so a
    /// refused import leaves the model unchanged. Adaptations (reported): a missing or differently sized head is
    /// re-initialised with <paramref name="seed"/>; a different grid resamples pos_embed; a different patch size
    /// resamples the patch kernel. Channel counts, widths, depths and any other shape must match.
    /// </summary>
    public static ImportReport Import(VisionTransformer model, IReadOnlyDictionary<string, Tensor> state, string source,
        string? fingerprint = null, long seed = 0)
    {
        var config = model.Config;
        var targets = BackboneTensors(model).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var resampled = new List<ImportNote>();
        var reinitialised = new List<ImportNote>();
        var dropped = new List<ImportNote>();

        foreach (var name in state.Keys.Order(StringComparer.Ordinal))
        {
            if (targets.ContainsKey(name))
                continue;
            if (name.StartsWith("head.", StringComparison.Ordinal) && model.Head is null)
            {
                dropped.Add(new ImportNote(name, "the model has no head (0 classes)"));
                continue;
            }
            throw CheckpointFormatException.For(source, $"unexpected tensor '{name}'{UnexpectedHint(name, state, config)}");
        }

        var headReason = HeadMismatch(model, state);
        foreach (var name in targets.Keys.Order(StringComparer.Ordinal))
        {
            if (state.ContainsKey(name) || (headReason is not null && IsHead(name)))
                continue;
            throw CheckpointFormatException.For(source, $"missing tensor '{name}'{MissingHint(name, state, config)}");
        }

        using var scope = NewDisposeScope();
        var plan = new List<(Tensor Target, Tensor Value)>();
        foreach (var (name, target) in targets.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (IsHead(name) && headReason is not null)
                continue;
            var value = state[name];
            if (!value.shape.SequenceEqual(target.shape))
            {
                value = name switch
                {
                    PosEmbedName => ResamplePosEmbed(value, target, source, config, resampled),
                    PatchKernelName => ResamplePatchKernel(value, target, source, config, resampled),
                    _ => throw CheckpointFormatException.For(source,
                        $"tensor '{name}' has shape {Shape(value)} but model '{config.Name}' expects {Shape(target)}{WidthHint(value, target)}"),
                };
            }
            if (!value.is_floating_point() && target.is_floating_point())
                throw CheckpointFormatException.For(source, $"tensor '{name}' is stored as {value.dtype}, expected floating point");
            RequireFinite(value, name, source);
            plan.Add((target, value));
        }

        using (no_grad())
        {
            foreach (var (target, value) in plan)
                target.copy_(value);
        }
        if (headReason is not null)
        {
            model.InitializeHead(seed);
            reinitialised.Add(new ImportNote(HeadWeightName, headReason));
            reinitialised.Add(new ImportNote(HeadBiasName, headReason));
        }

        return new ImportReport
        {
            Source = source,
            Fingerprint = fingerprint ?? BackboneFingerprint.Of(state),
            LoadedCount = plan.Count,
            Resampled = resampled,
            Reinitialised = reinitialised,
            Dropped = dropped,
        };
    }

    /// <summary>Refuses a tensor holding NaN or infinity (e.g. saved by a diverged run), naming the file and tensor.</summary>
    public static void RequireFinite(Tensor value, string name, string source)
    {
        if (!value.is_floating_point())
            return;
        using var scope = NewDisposeScope();
        var bad = value.isfinite().logical_not().sum().item<long>();
        if (bad > 0)
            throw CheckpointFormatException.For(source, $"tensor '{name}' holds {bad} non-finite value(s) (NaN or infinity): the run that wrote it diverged");
    }

    /// <summary>
    /// The backbone as timm names it: every state-dict tensor except the prompts, as contiguous float32 CPU tensors
    /// (new tensors owned by the caller).
    /// </summary>
    public static Dictionary<string, Tensor> ExportState(VisionTransformer model)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in BackboneTensors(model))
        {
            result[name] = tensor.detach().to(ScalarType.Float32, CPU, copy: true).contiguous();
        }
        return result;
    }

    /// <summary>
    /// The model's state-dict entries that make up a timm backbone: all but the prompts and the input normalisation
    /// (which belongs to the config; TorchSharp may list its buffers in the state dict).
    /// </summary>
    private static IEnumerable<KeyValuePair<string, Tensor>> BackboneTensors(VisionTransformer model) =>
        model.state_dict().Where(kv => kv.Key != VisionTransformer.PromptParameterName
            && !kv.Key.StartsWith("normalization.", StringComparison.Ordinal));

    private static bool IsHead(string name) => name is HeadWeightName or HeadBiasName;

    /// <summary>Why the checkpoint's head cannot be used (null if it can, or if the model has no head).</summary>
    private static string? HeadMismatch(VisionTransformer model, IReadOnlyDictionary<string, Tensor> state)
    {
        if (model.Head is null)
            return null;
        var classes = model.Config.NumClasses;
        state.TryGetValue(HeadWeightName, out var weight);
        state.TryGetValue(HeadBiasName, out var bias);
        if (weight is null && bias is null)
            return $"the checkpoint has no head; new {classes}-class head";
        if (weight is null || bias is null)
            return $"the checkpoint has only {(weight is null ? HeadBiasName : HeadWeightName)}";
        if (weight.dim() != 2 || weight.shape[1] != model.Config.Width)
            return $"the checkpoint's head.weight has shape {Shape(weight)}, not [classes,{model.Config.Width}]; new {classes}-class head";
        if (weight.shape[0] != classes)
            return $"checkpoint head {weight.shape[0]} classes -> new {classes}-class head";
        if (!weight.shape.SequenceEqual(model.Head.weight!.shape) || !bias.shape.SequenceEqual(model.Head.bias!.shape))
            return $"the checkpoint head has shape {Shape(weight)}, the model {Shape(model.Head.weight!)}; new {classes}-class head";
        return null;
    }

    private static Tensor ResamplePosEmbed(Tensor value, Tensor target, string source, VitConfig config, List<ImportNote> notes)
    {
        if (value.dim() != 3 || value.shape[0] != 1 || value.shape[2] != target.shape[2])
            throw CheckpointFormatException.For(source,
                $"tensor '{PosEmbedName}' has shape {Shape(value)} but model '{config.Name}' expects {Shape(target)}{WidthHint(value, target)}");
        var oldGrid = VitResampling.GridSide(value.shape[1] - 1)
            ?? throw CheckpointFormatException.For(source,
                $"tensor '{PosEmbedName}' has {value.shape[1]} positions, not a class token plus a square grid (timm models with no_embed_class or extra prefix tokens are not supported)");
        var resized = VitResampling.PositionEmbedding(value, config.GridSize);
        notes.Add(new ImportNote(PosEmbedName,
            $"grid {oldGrid}x{oldGrid} -> {config.GridSize}x{config.GridSize} (bicubic, antialiased; class token kept)"));
        return resized;
    }

    private static Tensor ResamplePatchKernel(Tensor value, Tensor target, string source, VitConfig config, List<ImportNote> notes)
    {
        if (value.dim() != 4 || value.shape[2] != value.shape[3] || value.shape[0] != target.shape[0])
            throw CheckpointFormatException.For(source,
                $"tensor '{PatchKernelName}' has shape {Shape(value)} but model '{config.Name}' expects {Shape(target)}");
        if (value.shape[1] != target.shape[1])
            throw CheckpointFormatException.For(source,
                $"tensor '{PatchKernelName}' takes {value.shape[1]} input channels but model '{config.Name}' takes {target.shape[1]}; channels are not resampled: use {value.shape[1]}-channel images (in-channels {value.shape[1]}) with this checkpoint");
        var oldPatch = value.shape[2];
        var resized = VitResampling.PatchKernel(value, config.PatchSize);
        notes.Add(new ImportNote(PatchKernelName,
            $"patch {oldPatch}x{oldPatch} -> {config.PatchSize}x{config.PatchSize} (pseudo-inverse resize, as timm's resample_patch_embed)"));
        return resized;
    }

    private static string UnexpectedHint(string name, IReadOnlyDictionary<string, Tensor> state, VitConfig config)
    {
        if (name == VisionTransformer.PromptParameterName)
            return ": prompts belong in a prompt file, not in a backbone";
        if (name.StartsWith("fc_norm.", StringComparison.Ordinal))
            return ": the checkpoint pools patch tokens (timm global_pool='avg'), this ViT uses the class token";
        if (name.StartsWith("pre_logits.", StringComparison.Ordinal))
            return ": representation (pre-logits) layers are not supported; use a checkpoint without them";
        if (name.StartsWith("norm_pre.", StringComparison.Ordinal) || name == "reg_token" || name.Contains(".ls1.") || name.Contains(".q_norm."))
            return ": this timm ViT variant (pre-norm, register tokens, layer scale or qk-norm) is not supported";
        if (BlockIndex(name) is int block && block >= config.Depth)
            return $": the checkpoint has {CountBlocks(state)} blocks, model '{config.Name}' has depth {config.Depth}";
        return $" (not part of model '{config.Name}')";
    }

    private static string MissingHint(string name, IReadOnlyDictionary<string, Tensor> state, VitConfig config)
    {
        if (BlockIndex(name) is not null && CountBlocks(state) is var blocks && blocks < config.Depth)
            return $": the checkpoint has {blocks} blocks, model '{config.Name}' has depth {config.Depth}";
        return "";
    }

    private static string WidthHint(Tensor value, Tensor target) =>
        value.dim() > 0 && target.dim() > 0 && value.shape[^1] != target.shape[^1] && value.dim() == target.dim()
            ? " (different embedding width: name the model config that matches the checkpoint)"
            : "";

    private static int? BlockIndex(string name)
    {
        var m = BlockPattern().Match(name);
        return m.Success ? int.Parse(m.Groups[1].Value) : null;
    }

    private static int CountBlocks(IReadOnlyDictionary<string, Tensor> state) =>
        state.Keys.Select(BlockIndex).Where(i => i is not null).Select(i => i!.Value + 1).DefaultIfEmpty(0).Max();

    private static string Shape(Tensor t) => "[" + string.Join(",", t.shape) + "]";

    [GeneratedRegex(@"^blocks\.(\d+)\.")]
    private static partial Regex BlockPattern();
}
