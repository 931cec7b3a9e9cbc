namespace AdaptSharp.Runtime;

/// <summary>Which library does the model's large GEMMs (<see cref="Library"/> null: libtorch's own), and why.</summary>
internal sealed record GemmRoute(GemmLibrary? Library, string Reason)
{
    public const string LibTorchName = "libtorch";

    public static GemmRoute LibTorch(string reason) => new(null, reason);

    public string Name => Library?.Name ?? LibTorchName;

    public override string ToString() => $"{Name} ({Reason})";
}
