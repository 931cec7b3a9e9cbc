using System.Text.Json;
using System.Text.Json.Serialization;

namespace AdaptSharp.Models;

/// <summary>Architecture of a timm-style Vision Transformer, including its input normalisation.</summary>
public sealed record VitConfig
{
    public string Name { get; init; } = "custom";
    public int ImageSize { get; init; } = 224;
    public int PatchSize { get; init; } = 16;
    public int InChannels { get; init; } = 3;
    public int Width { get; init; } = 768;
    public int Depth { get; init; } = 12;
    public int Heads { get; init; } = 12;
    public double MlpRatio { get; init; } = 4.0;
    public int NumClasses { get; init; } = 1000;
    public float[] Mean { get; init; } = [0.5f, 0.5f, 0.5f];
    public float[] Std { get; init; } = [0.5f, 0.5f, 0.5f];

    [JsonIgnore] public int GridSize => ImageSize / PatchSize;
    [JsonIgnore] public int NumPatches => GridSize * GridSize;
    [JsonIgnore] public int MlpHidden => (int)(Width * MlpRatio);

    public void Validate()
    {
        void Require(bool ok, string what)
        {
            if (!ok) throw new ArgumentException($"invalid model config '{Name}': {what}");
        }
        Require(ImageSize > 0 && PatchSize > 0, "image and patch size must be positive");
        Require(ImageSize % PatchSize == 0, $"image size {ImageSize} is not a multiple of patch size {PatchSize}");
        Require(InChannels > 0, "in-channels must be positive");
        Require(Width > 0 && Depth > 0 && Heads > 0, "width, depth and heads must be positive");
        Require(Width % Heads == 0, $"width {Width} is not divisible by heads {Heads}");
        Require(MlpRatio > 0, "mlp ratio must be positive");
        Require(NumClasses >= 0, "classes must be >= 0");
        Require(Mean.Length == InChannels && Std.Length == InChannels, $"mean/std need {InChannels} values");
        Require(Std.All(s => s > 0), "std must be positive");
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = false };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static VitConfig FromJson(string json) =>
        JsonSerializer.Deserialize<VitConfig>(json, JsonOptions) ?? throw new FormatException("empty model config");

    public bool Equals(VitConfig? other) =>
        other is not null && ImageSize == other.ImageSize && PatchSize == other.PatchSize &&
        InChannels == other.InChannels && Width == other.Width && Depth == other.Depth &&
        Heads == other.Heads && MlpRatio == other.MlpRatio && NumClasses == other.NumClasses &&
        Mean.SequenceEqual(other.Mean) && Std.SequenceEqual(other.Std);

    public override int GetHashCode() => HashCode.Combine(ImageSize, PatchSize, InChannels, Width, Depth, Heads, NumClasses);
}
