using AdaptSharp.Models;

namespace AdaptSharp.Checkpoints;

/// <summary>A model built from a backbone file, with what the import did and the file's metadata.</summary>
public sealed record LoadedBackbone(VisionTransformer Model, ImportReport Report, IReadOnlyDictionary<string, string> Metadata)
    : IDisposable
{
    /// <summary>The backbone fingerprint of the file, to check prompt files against.</summary>
    public string Fingerprint => Report.Fingerprint;

    public void Dispose() => Model.Dispose();
}
