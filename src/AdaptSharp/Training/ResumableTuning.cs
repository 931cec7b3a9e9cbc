namespace AdaptSharp.Training;

/// <summary>
/// One tuning of a demo or study: reused when its output file exists and its run folder records the same recipe, data and
/// seed (another is a one-line error), continued from its run folder's checkpoint when an earlier attempt was interrupted,
/// trained otherwise. Interruption surfaces as <see cref="OperationCanceledException"/>.
/// </summary>
internal static class ResumableTuning
{
    /// <summary>Returns true when the output already existed (nothing was trained).</summary>
    public static bool Run(TrainingJobSpec spec, Func<TrainingJobSpec, TrainingJobResult> train, string label, Action<string> log)
    {
        if (File.Exists(spec.OutputPath))
        {
            RunConfig.RequireSameTuning(spec);
            log($"{label}: reusing {spec.OutputPath}");
            return true;
        }
        var resume = File.Exists(Path.Combine(spec.ResolvedRunDirectory, Trainer.CheckpointFileName));
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(spec.OutputPath))!);
        log(resume ? $"{label}: resuming the tuning" : $"{label}: tuning");
        if (train(spec with { Resume = resume }).OutputPath is null)
            throw new OperationCanceledException($"interrupted while tuning {label}");
        return false;
    }
}
