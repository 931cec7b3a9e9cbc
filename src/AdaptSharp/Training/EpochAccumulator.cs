using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

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

    /// <summary>Adds one optimizer step on a batch with labels <paramref name="labels"/> (logits null: not computed by the objective).</summary>
    public void Add(double loss, double gradientNorm, double learningRate, Tensor labels, Tensor? cleanLogits, Tensor? adversarialLogits)
    {
        var n = labels.shape[0];
        LossSum += loss * n;
        Images += n;
        GradientNormSum += gradientNorm;
        Steps++;
        LastLearningRate = learningRate;
        if (cleanLogits is not null)
        {
            CleanCorrect += cleanLogits.argmax(1).eq(labels).sum().ToInt64();
            CleanCount += n;
        }
        if (adversarialLogits is not null)
        {
            AdversarialCorrect += adversarialLogits.argmax(1).eq(labels).sum().ToInt64();
            AdversarialCount += n;
        }
    }

    /// <summary>The epoch's training metrics (the held-out evaluation is added by the trainer).</summary>
    public EpochMetrics ToMetrics(int epoch, long step) => new()
    {
        Epoch = epoch,
        Step = step,
        LearningRate = LastLearningRate,
        TrainLoss = Images == 0 ? double.NaN : LossSum / Images,
        TrainCleanAccuracy = CleanCount == 0 ? null : (double)CleanCorrect / CleanCount,
        TrainAdversarialAccuracy = AdversarialCount == 0 ? null : (double)AdversarialCorrect / AdversarialCount,
        GradientNorm = Steps == 0 ? 0 : GradientNormSum / Steps,
        ImagesPerSecond = Seconds <= 0 ? 0 : Images / Seconds,
        Seconds = Seconds,
    };

    public string ToJson() => JsonSerializer.Serialize(this);

    public static EpochAccumulator FromJson(string json) => JsonSerializer.Deserialize<EpochAccumulator>(json) ?? new EpochAccumulator();
}
