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
        var differences = Differences(configPath, current, RunIdentity, "--resume");
        if (differences.Count > 0)
            throw new ArgumentException(
                $"--resume: the run in {Path.GetDirectoryName(configPath)} was started with other settings ({Join(differences)}): resume with the original settings, or start a new run (another --run-dir)");
    }

    /// <summary>
    /// Refuses to reuse the finished output of a demo's or study's tuning when its run folder records another recipe,
    /// data, --limit or seed than <paramref name="spec"/> asks for: the report would print the new recipe next to
    /// prompts tuned with the old one (e.g. an output folder kept from an earlier version's plan).
    /// </summary>
    public static void RequireSameTuning(TrainingJobSpec spec)
    {
        var current = JsonSerializer.SerializeToNode(new
        {
            dataset = spec.Data.ToString(),
            train_limit = spec.TrainLimit,
            seed = spec.Seed,
            recipe = spec.Recipe,
        }, JsonOptions)!.AsObject();
        var differences = Differences(Path.Combine(spec.ResolvedRunDirectory, TrainingJob.ConfigFileName), current,
            ["dataset", "train_limit", "seed", "recipe"], "reusing a tuning");
        if (differences.Count > 0)
            throw new ArgumentException(
                $"{spec.OutputPath} was tuned with other settings than this plan's ({Join(differences)}): pass --fresh to tune it again, or choose another --out");
    }

    /// <summary>The <paramref name="keys"/> (and fields of object values) whose recorded value differs from <paramref name="current"/>'s.</summary>
    private static List<string> Differences(string configPath, JsonObject current, IEnumerable<string> keys, string purpose)
    {
        if (!File.Exists(configPath))
            return []; // nothing recorded to check against; the checkpoint's or file's own checks still apply
        JsonObject stored;
        try
        {
            stored = JsonNode.Parse(File.ReadAllText(configPath))?.AsObject() ?? throw new FormatException("empty");
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new FormatException($"{configPath}: not a run config ({e.Message.Split('\n')[0]}); cannot check the run before {purpose}");
        }
        return keys.SelectMany(key => Changes(key, stored[key], current[key])).ToList();
    }

    /// <summary>"path was -> now" for every differing leaf below <paramref name="path"/> (objects are compared field by field).</summary>
    private static IEnumerable<string> Changes(string path, JsonNode? was, JsonNode? now) => (was, now) switch
    {
        _ when JsonNode.DeepEquals(was, now) => [],
        (JsonObject a, JsonObject b) => a.Select(kv => kv.Key).Union(b.Select(kv => kv.Key)).SelectMany(field => Changes($"{path}.{field}", a[field], b[field])),
        _ => [$"{path} {Show(was)} -> {Show(now)}"],
    };

    private static string Join(List<string> differences) =>
        $"{string.Join("; ", differences.Take(6))}{(differences.Count > 6 ? "; ..." : "")}";

    private static string Show(JsonNode? node)
    {
        var text = node?.ToJsonString() ?? "none";
        return text.Length > 60 ? text[..57] + "..." : text;
    }
}
