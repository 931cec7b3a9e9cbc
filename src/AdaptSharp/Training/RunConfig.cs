using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using AdaptSharp.Models;

namespace AdaptSharp.Training;

/// <summary>
/// A run folder's config.json: what defines a training run, written when it starts and checked when it is resumed.
/// </summary>
internal static class RunConfig
{
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>config.json entries that define a run: a resumed run must match every one (others, e.g. the device, may change).</summary>
    private static readonly string[] RunIdentity =
        ["backbone_fingerprint", "model_preset", "model", "prompts", "dataset", "train_limit", "seed", "recipe", "objective", "attack_source", "schedule", "total_steps"];

    public static JsonObject Create(TrainingJobSpec spec, TrainingObjective objective, TrainerOptions options,
        VitConfig config, PromptConfig prompts, string? fingerprint, long totalSteps)
    {
        var payload = new
        {
            created_utc = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            backbone = spec.BackbonePath,
            backbone_fingerprint = fingerprint,
            model_preset = spec.ModelPreset,
            model = config,
            prompts = prompts.ToString(),
            dataset = spec.Data.ToString(),
            train_limit = spec.TrainLimit,
            output = Path.GetFullPath(spec.OutputPath),
            seed = spec.Seed,
            device = spec.Device,
            recipe = spec.Recipe,
            objective = objective.Describe(),
            attack_source = objective.EffectiveSource.ToString(),
            schedule = options.Schedule.ToString(),
            total_steps = totalSteps,
        };
        return JsonSerializer.SerializeToNode(payload, JsonOptions)!.AsObject();
    }

    /// <summary>
    /// Refuses to resume a run folder with other settings than it was started with (recipe, data and --limit, model,
    /// method, backbone fingerprint, seed), naming every difference; mixing two runs' steps would be a silent wrong result.
    /// </summary>
    public static void RequireSame(string configPath, JsonObject current)
    {
        if (!File.Exists(configPath))
            return; // the checkpoint's own checks (seed, epochs, tensor names and shapes) still apply
        JsonObject stored;
        try
        {
            stored = JsonNode.Parse(File.ReadAllText(configPath))?.AsObject() ?? throw new FormatException("empty");
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new FormatException($"{configPath}: not a run config ({e.Message.Split('\n')[0]}); cannot check that --resume continues the same run");
        }
        var differences = RunIdentity.SelectMany(key => (stored[key], current[key]) switch
        {
            var (was, now) when JsonNode.DeepEquals(was, now) => [],
            (JsonObject was, JsonObject now) => was.Select(kv => kv.Key).Union(now.Select(kv => kv.Key))
                .Where(field => !JsonNode.DeepEquals(was[field], now[field]))
                .Select(field => $"{key}.{field} {Show(was[field])} -> {Show(now[field])}"),
            var (was, now) => new[] { $"{key} {Show(was)} -> {Show(now)}" },
        }).ToList();
        if (differences.Count > 0)
            throw new ArgumentException(
                $"--resume: the run in {Path.GetDirectoryName(configPath)} was started with other settings ({string.Join("; ", differences.Take(6))}{(differences.Count > 6 ? "; ..." : "")}): resume with the original settings, or start a new run (another --run-dir)");
    }

    private static string Show(JsonNode? node)
    {
        var text = node?.ToJsonString() ?? "none";
        return text.Length > 60 ? text[..57] + "..." : text;
    }
}
