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

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJsonLine() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Writes <paramref name="metrics"/> as a metrics.jsonl file, atomically.</summary>
    public static void WriteFile(string path, IEnumerable<EpochMetrics> metrics) =>
        IO.AtomicFile.WriteAllText(path, string.Concat(metrics.Select(m => m.ToJsonLine() + "\n")));

    /// <summary>Sum of the epochs' seconds in a metrics.jsonl file; NaN when there is none.</summary>
    public static double TotalSeconds(string path) => File.Exists(path) ? ReadFile(path).Sum(m => m.Seconds) : double.NaN;

    /// <summary>
    /// Reads a metrics.jsonl file (blank lines skipped). A torn last line (no final newline, not a complete record: the
    /// writer was killed mid-line) is dropped; any other bad line is a <see cref="FormatException"/> naming the file and line.
    /// </summary>
    public static List<EpochMetrics> ReadFile(string path)
    {
        var lines = File.ReadAllText(path).Split('\n');
        var result = new List<EpochMetrics>();
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line))
                continue;
            try
            {
                result.Add(JsonSerializer.Deserialize<EpochMetrics>(line, JsonOptions) ?? throw new FormatException("empty metrics line"));
            }
            catch (Exception e) when (e is JsonException or FormatException)
            {
                if (i == lines.Length - 1) // torn: no newline after it
                    break;
                throw new FormatException($"{path}: line {i + 1} is not a metrics record ({e.Message.Split('\n')[0]})", e);
            }
        }
        return result;
    }
}
