using System.Text.Encodings.Web;
using AdaptSharp.IO;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AdaptSharp.Evaluation;

/// <summary>report.json encoding: snake_case names, enums as strings, indented.</summary>
internal static class ReportJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        // A file for people and tools, never embedded in HTML: '+' in a surrogate name stays '+', not \u002B.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Serialize(RobustnessReport report) => JsonSerializer.Serialize(report, Options);

    /// <summary>Writes <paramref name="value"/> (a report, the demo's or the study's results) to <paramref name="path"/>, atomically.</summary>
    public static void Write(string path, object value) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(value, Options));

    public static RobustnessReport Deserialize(string json, string label = "report")
    {
        try
        {
            return JsonSerializer.Deserialize<RobustnessReport>(json, Options)
                ?? throw new InvalidDataException($"{label}: empty report");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{label}: not a valid report ({e.Message})", e);
        }
    }
}
