using System.Text.Json;
using System.Text.Json.Serialization;

namespace AdaptSharp.Training;

/// <summary>Running sums over one training epoch (serialised into checkpoints so an interrupted epoch resumes its means).</summary>
internal sealed class EpochAccumulator
{
    public double LossSum { get; set; }
    public long Images { get; set; }
    public long CleanCorrect { get; set; }
    public long CleanCount { get; set; }
    public long AdversarialCorrect { get; set; }
    public long AdversarialCount { get; set; }
    public double GradientNormSum { get; set; }
    public long Steps { get; set; }
    public double Seconds { get; set; }
    public double LastLearningRate { get; set; }

    [JsonIgnore] public double Loss => Images == 0 ? double.NaN : LossSum / Images;
    [JsonIgnore] public double? CleanAccuracy => CleanCount == 0 ? null : (double)CleanCorrect / CleanCount;
    [JsonIgnore] public double? AdversarialAccuracy => AdversarialCount == 0 ? null : (double)AdversarialCorrect / AdversarialCount;
    [JsonIgnore] public double ImagesPerSecond => Seconds <= 0 ? 0 : Images / Seconds;
    [JsonIgnore] public double GradientNorm => Steps == 0 ? 0 : GradientNormSum / Steps;

    public string ToJson() => JsonSerializer.Serialize(this);

    public static EpochAccumulator FromJson(string json) => JsonSerializer.Deserialize<EpochAccumulator>(json) ?? new EpochAccumulator();
}
