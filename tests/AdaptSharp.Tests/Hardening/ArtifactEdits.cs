using AdaptSharp.Checkpoints;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Hardening;

/// <summary>Copies a safetensors file with edits, as a hostile or careless user would make them.</summary>
internal static class ArtifactEdits
{
    public static string Rewrite(string source, string target, Action<Dictionary<string, Tensor>, Dictionary<string, string>> edit)
    {
        Dictionary<string, Tensor> tensors;
        Dictionary<string, string> metadata;
        using (var reader = SafetensorsReader.Open(source))
        {
            tensors = reader.ReadAll();
            metadata = new Dictionary<string, string>(reader.Metadata);
        }
        try
        {
            edit(tensors, metadata);
            SafetensorsWriter.Write(target, tensors, metadata);
        }
        finally
        {
            foreach (var t in tensors.Values)
                t.Dispose();
        }
        return target;
    }

    /// <summary>Sets fields of the JSON model config stored under <paramref name="key"/>.</summary>
    public static void PatchConfig(Dictionary<string, string> metadata, string key, Func<AdaptSharp.Models.VitConfig, AdaptSharp.Models.VitConfig> patch) =>
        metadata[key] = patch(AdaptSharp.Models.VitConfig.FromJson(metadata[key])).ToJson();

    public static void Remove(Dictionary<string, Tensor> tensors, string prefix)
    {
        foreach (var name in tensors.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList())
        {
            tensors[name].Dispose();
            tensors.Remove(name);
        }
    }
}
