using System.Text.Json;
using System.Text.Json.Serialization;

namespace AdaptSharp.Training;

/// <summary>One line of metrics.jsonl: training means over the epoch and the held-out evaluation.</summary>
public sealed record EpochMetrics
{
    public int Epoch { get; init; }
    public long Step { get; init; }
    public double LearningRate { get; init; }
    public double TrainLoss { get; init; }
    public double? TrainCleanAccuracy { get; init; }
    public double? TrainAdversarialAccuracy { get; init; }
    public double GradientNorm { get; init; }
    public double ImagesPerSecond { get; init; }
    public double Seconds { get; init; }
    public int? EvalPoints { get; init; }
    public double? EvalCleanAccuracy { get; init; }
    /// <summary>Accuracy under adaptive PGD (on f_P).</summary>
    public double? EvalAdversarialAccuracy { get; init; }
    /// <summary>Accuracy of f_P under prompt-agnostic PGD (computed on f_0), when requested.</summary>
    public double? EvalPromptAgnosticAccuracy { get; init; }

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJsonLine() => JsonSerializer.Serialize(this, JsonOptions);

    public static EpochMetrics FromJsonLine(string line) =>
        JsonSerializer.Deserialize<EpochMetrics>(line, JsonOptions) ?? throw new FormatException("empty metrics line");

    /// <summary>Reads a metrics.jsonl file (blank lines skipped).</summary>
    /// <summary>Sum of the epochs' seconds in a metrics.jsonl file; NaN when there is none.</summary>
    public static double TotalSeconds(string path) => File.Exists(path) ? ReadFile(path).Sum(m => m.Seconds) : double.NaN;

    public static List<EpochMetrics> ReadFile(string path) =>
        File.ReadAllLines(path).Where(l => !string.IsNullOrWhiteSpace(l)).Select(FromJsonLine).ToList();
}
