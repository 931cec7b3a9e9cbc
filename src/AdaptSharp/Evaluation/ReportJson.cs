using System.Text.Encodings.Web;
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
