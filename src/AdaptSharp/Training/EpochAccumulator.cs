using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Training;

/// <summary>Running sums over one training epoch (serialised into checkpoints so an interrupted epoch resumes its means).</summary>
internal sealed record EpochAccumulator(double LossSum = 0, long Images = 0, long CleanCorrect = 0, long CleanCount = 0,
    long AdversarialCorrect = 0, long AdversarialCount = 0, double GradientNormSum = 0, long Steps = 0, double Seconds = 0,
    double LastLearningRate = 0)
{
    /// <summary>The sums after one optimizer step on a batch with labels <paramref name="labels"/> (logits null: not computed by the objective).</summary>
    public EpochAccumulator Add(double loss, double gradientNorm, double learningRate, Tensor labels, Tensor? cleanLogits, Tensor? adversarialLogits)
    {
        var n = labels.shape[0];
        long Correct(Tensor? logits) => logits is null ? 0 : logits.argmax(1).eq(labels).sum().ToInt64();
        return this with
        {
            LossSum = LossSum + loss * n,
            Images = Images + n,
            CleanCorrect = CleanCorrect + Correct(cleanLogits),
            CleanCount = CleanCount + (cleanLogits is null ? 0 : n),
            AdversarialCorrect = AdversarialCorrect + Correct(adversarialLogits),
            AdversarialCount = AdversarialCount + (adversarialLogits is null ? 0 : n),
            GradientNormSum = GradientNormSum + gradientNorm,
            Steps = Steps + 1,
            LastLearningRate = learningRate,
        };
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
