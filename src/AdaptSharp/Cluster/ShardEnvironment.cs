using System.Globalization;

namespace AdaptSharp.Cluster;

/// <summary>
/// Where a shard comes from when <c>--shard</c> is not given: the scheduler's environment.
/// <list type="bullet">
/// <item>Slurm job arrays: <c>SLURM_ARRAY_TASK_ID</c> within a range <c>--array=MIN-MAX[:STEP]</c> gives K =
/// (ID - MIN) / STEP + 1 and N = <c>SLURM_ARRAY_TASK_COUNT</c> (so <c>--array=0-3</c> and <c>--array=1-4</c> both
/// mean shards 1/4..4/4). An array given as a list (<c>--array=1,3,8</c>) is refused.</item>
/// <item>Kubernetes Indexed Jobs: <c>JOB_COMPLETION_INDEX</c> (from 0) gives K = index + 1 and N =
/// <c>ADAPT_SHARD_COUNT</c>, which the manifest sets to the Job's <c>completions</c> (Kubernetes does not export it).</item>
/// <item>Whenever <c>ADAPT_SHARD_COUNT</c> is set, it is N and the task index counts from 0 (K = index + 1), for Slurm
/// too: resubmitting one failed task as <c>ADAPT_SHARD_COUNT=4 sbatch --array=2 ...</c> runs shard 3/4 (a lone
/// <c>--array=2</c> would otherwise be an array of one task, shard 1/1).</item>
/// </list>
/// An explicit <c>--shard</c> wins over the environment; <c>--shard 1/1</c> runs everything inside an array task.
/// </summary>
internal static class ShardEnvironment
{
    public const string SlurmTaskId = "SLURM_ARRAY_TASK_ID";
    public const string SlurmTaskCount = "SLURM_ARRAY_TASK_COUNT";
    public const string SlurmTaskMin = "SLURM_ARRAY_TASK_MIN";
    public const string SlurmTaskMax = "SLURM_ARRAY_TASK_MAX";
    public const string SlurmTaskStep = "SLURM_ARRAY_TASK_STEP";
    public const string KubernetesIndex = "JOB_COMPLETION_INDEX";
    public const string ShardCount = "ADAPT_SHARD_COUNT";

    /// <summary>
    /// The shard to run: <paramref name="option"/> (the --shard text) when given, else the scheduler's variables read
    /// through <paramref name="getVariable"/> (default: the process environment), else null (run everything).
    /// <c>Origin</c> says where it came from, for logs and reports.
    /// </summary>
    public static (ShardSpec? Shard, string Origin) Resolve(string? option, Func<string, string?>? getVariable = null)
    {
        if (!string.IsNullOrWhiteSpace(option))
            return (ShardSpec.Parse(option), "--shard");
        getVariable ??= Environment.GetEnvironmentVariable;
        var (indexName, indexText) = Value(getVariable, SlurmTaskId) is { } id ? (SlurmTaskId, id)
            : Value(getVariable, KubernetesIndex) is { } index ? (KubernetesIndex, index)
            : (null, null);
        if (indexName is null || indexText is null)
            return (null, "");
        if (Value(getVariable, ShardCount) is { } count)
            return FromIndex(indexName, indexText, count);
        if (indexName == KubernetesIndex)
            Missing(ShardCount, KubernetesIndex);
        return FromSlurm(getVariable, indexText);
    }

    private static (ShardSpec, string) FromSlurm(Func<string, string?> env, string idText)
    {
        var id = Integer(SlurmTaskId, idText);
        var count = Integer(SlurmTaskCount, Value(env, SlurmTaskCount) ?? Missing(SlurmTaskCount, SlurmTaskId));
        var min = Value(env, SlurmTaskMin) is { } m ? Integer(SlurmTaskMin, m) : 0;
        var step = Value(env, SlurmTaskStep) is { } s ? Integer(SlurmTaskStep, s) : 1;
        var max = Value(env, SlurmTaskMax) is { } x ? Integer(SlurmTaskMax, x) : min + (count - 1) * step;
        if (count < 1 || step < 1 || id < min || (id - min) % step != 0 || (long)min + (long)(count - 1) * step != max)
            throw new ArgumentException(
                $"{SlurmTaskId}={id} is not in a job array of the form --array=MIN-MAX[:STEP] ({SlurmTaskMin}={min}, {SlurmTaskMax}={max}, " +
                $"{SlurmTaskStep}={step}, {SlurmTaskCount}={count}): submit --array=0-{Math.Max(count, 1) - 1} or pass --shard K/N");
        var k = (id - min) / step + 1;
        return (new ShardSpec(k, count), $"{SlurmTaskId}={id} of {SlurmTaskCount}={count}");
    }

    private static (ShardSpec, string) FromIndex(string indexName, string indexText, string countText)
    {
        var index = Integer(indexName, indexText);
        var count = Integer(ShardCount, countText);
        if (count < 1 || index < 0 || index >= count)
            throw new ArgumentException($"{indexName}={index} with {ShardCount}={count}: expected 0 <= index < count (indices count from 0 when {ShardCount} is set)");
        return (new ShardSpec(index + 1, count), $"{indexName}={index} of {ShardCount}={count}");
    }

    private static string? Value(Func<string, string?> env, string name) => env(name) is { } v && v.Trim().Length > 0 ? v.Trim() : null;

    private static string Missing(string name, string because) =>
        throw new ArgumentException($"{because} is set but {name} is not: set {name} to the number of shards or pass --shard K/N");

    private static int Integer(string name, string text) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new ArgumentException($"{name}='{text}' is not an integer");
}
