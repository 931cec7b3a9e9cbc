using System.Globalization;
using AdaptSharp.Checkpoints;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace AdaptSharp.Training;

/// <summary>
/// A resumable training state: the trainable parameters under their model names, the optimizer state under
/// <c>optim.*</c> names, and metadata (progress, seed, run identity). Stored as one safetensors file, written
/// atomically. Owns its tensors.
/// </summary>
public sealed class TrainingCheckpoint(Dictionary<string, Tensor> tensors, Dictionary<string, string> metadata) : IDisposable
{
    public const string KindValue = "training-checkpoint";
    public const string EpochKey = "epoch";
    public const string BatchKey = "batch";
    public const string StepKey = "step";
    public const string SeedKey = "seed";
    public const string OptimizerStepsKey = "optimizer_steps";

    /// <summary>libtorch's intra-op thread count when the checkpoint was written (float reductions depend on it).</summary>
    public const string ThreadsKey = "intra_op_threads";

    public Dictionary<string, Tensor> Tensors { get; } = tensors;

    public Dictionary<string, string> Metadata { get; } = metadata;

    /// <summary>Epochs fully done.</summary>
    public int Epoch => (int)GetLong(EpochKey);

    /// <summary>Batches done in the epoch after <see cref="Epoch"/> (non-zero for an interrupted epoch).</summary>
    public int Batch => (int)GetLong(BatchKey);

    public long Step => GetLong(StepKey);

    public long Seed => GetLong(SeedKey);

    /// <summary>A checkpoint of copies of <paramref name="parameters"/> and the optimizer's state, with <paramref name="metadata"/>.</summary>
    public static TrainingCheckpoint Capture(IEnumerable<(string Name, Parameter Parameter)> parameters, ParameterOptimizer optimizer,
        Dictionary<string, string> metadata)
    {
        var tensors = parameters.Select(p => KeyValuePair.Create(p.Name, (Tensor)p.Parameter)).Concat(optimizer.StateTensors())
            .ToDictionary(t => t.Key, t => t.Value.detach().clone().DetachFromDisposeScope(), StringComparer.Ordinal);
        return new TrainingCheckpoint(tensors, metadata);
    }

    /// <summary>Copies the stored parameters into <paramref name="parameters"/> (same names and shapes) and loads the optimizer state.</summary>
    public void Restore(IEnumerable<(string Name, Parameter Parameter)> parameters, ParameterOptimizer optimizer)
    {
        var missing = parameters.Select(p => p.Name).Where(name => !Tensors.ContainsKey(name)).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"the checkpoint lacks trainable tensor(s) {string.Join(", ", missing.Take(5))}: was it made with another trainable set?");
        using (no_grad())
        {
            foreach (var (name, p) in parameters)
            {
                var t = Tensors[name];
                if (!t.shape.SequenceEqual(p.shape))
                    throw new ArgumentException($"checkpoint tensor '{name}' has shape [{string.Join(",", t.shape)}], the model has [{string.Join(",", p.shape)}]");
                p.copy_(t);
            }
        }
        optimizer.LoadState(Tensors, GetLong(OptimizerStepsKey));
    }

    public void Save(string path) =>
        SafetensorsWriter.Write(path, Tensors, new Dictionary<string, string>(Metadata) { [CheckpointMetadata.Kind] = KindValue });

    public static TrainingCheckpoint Load(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"checkpoint '{path}' does not exist", path);
        using var reader = SafetensorsReader.Open(path);
        if (!reader.Metadata.TryGetValue(CheckpointMetadata.Kind, out var kind) || kind != KindValue)
            throw new CheckpointFormatException($"'{path}' is not an AdaptSharp training checkpoint (no '{CheckpointMetadata.Kind}: {KindValue}' metadata)");
        var tensors = reader.ReadAll();
        foreach (var t in tensors.Values) t.DetachFromDisposeScope();
        return new TrainingCheckpoint(tensors, new Dictionary<string, string>(reader.Metadata));
    }

    private long GetLong(string key) =>
        Metadata.TryGetValue(key, out var v) && long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new CheckpointFormatException($"training checkpoint lacks integer metadata '{key}'");

    public void Dispose()
    {
        foreach (var t in Tensors.Values) t.Dispose();
        Tensors.Clear();
    }
}
