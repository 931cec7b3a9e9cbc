using System.Reflection;

namespace AdaptSharp.Checkpoints;

/// <summary>The "__metadata__" keys AdaptSharp writes into its safetensors files.</summary>
internal static class CheckpointMetadata
{
    /// <summary>Hugging Face convention ("pt"), so PyTorch tools treat the file as a plain torch state dict.</summary>
    public const string Format = "format";
    public const string Kind = "adaptsharp.kind";
    public const string FormatVersion = "adaptsharp.format_version";
    public const string LibraryVersion = "adaptsharp.version";
    public const string Config = "adaptsharp.config";
    public const string Fingerprint = "adaptsharp.fingerprint";
    public const string BackboneFingerprint = "adaptsharp.backbone_fingerprint";
    public const string Prompts = "adaptsharp.prompts";
    public const string PromptInit = "adaptsharp.prompt_init";
    public const string Trainable = "adaptsharp.trainable";
    public const string Method = "adaptsharp.method";
    public const string ThreatModel = "adaptsharp.threat_model";

    public const string BackboneKind = "backbone";
    public const string PromptsKind = "prompts";
    public const string CurrentFormatVersion = "1";

    /// <summary>Keys that callers' extra entries may not use: "format" and everything under "adaptsharp.".</summary>
    public static bool IsReserved(string key) =>
        key == Format || key.StartsWith("adaptsharp.", StringComparison.Ordinal);

    internal static string Version =>
        typeof(CheckpointMetadata).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(CheckpointMetadata).Assembly.GetName().Version?.ToString() ?? "unknown";

    internal static void CheckVersion(IReadOnlyDictionary<string, string> metadata, string file)
    {
        if (metadata.TryGetValue(FormatVersion, out var version) && version != CurrentFormatVersion)
            throw CheckpointFormatException.For(file,
                $"AdaptSharp format version {version} is not supported by this build (it reads version {CurrentFormatVersion})");
    }

    internal static Dictionary<string, string> Extras(IReadOnlyDictionary<string, string> metadata) =>
        metadata.Where(kv => !IsReserved(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    internal static void AddExtras(Dictionary<string, string> metadata, IReadOnlyDictionary<string, string>? extra)
    {
        if (extra is null)
            return;
        foreach (var (key, value) in extra)
        {
            if (IsReserved(key))
                throw new ArgumentException($"metadata key '{key}' is reserved for AdaptSharp");
            metadata[key] = value;
        }
    }

    internal static Models.VitConfig ParseConfig(string json, string file)
    {
        try
        {
            var config = Models.VitConfig.FromJson(json);
            config.Validate();
            return config;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or ArgumentException)
        {
            throw CheckpointFormatException.For(file, $"bad model config in metadata '{Config}': {e.Message.ReplaceLineEndings(" ")}", e);
        }
    }

    internal static void RequireBackboneKind(SafetensorsReader reader)
    {
        if (reader.Metadata.TryGetValue(Kind, out var kind) && kind != BackboneKind)
            throw CheckpointFormatException.For(reader.FilePath,
                $"is an AdaptSharp {kind} file, not a backbone{(kind == PromptsKind ? " (pass it as the prompt file)" : "")}");
    }
}
