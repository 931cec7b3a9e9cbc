using AdaptSharp.IO;
using AdaptSharp.Checkpoints;
using static TorchSharp.torch;

namespace AdaptSharp.Evaluation;

/// <summary>
/// Writes and reads an evaluation directory: report.json, flags.npy (int8, N x columns; -1 = not done),
/// report.md and, for complete runs, the plots. Every file is written atomically (temp file + rename), flags
/// before the report, so an interrupted run always leaves a loadable, resumable state.
/// </summary>
internal static class ReportWriter
{
    public const string ReportFile = "report.json";
    public const string FlagsFile = "flags.npy";
    public const string MarkdownFile = "report.md";
    public const string BarChartFile = "robust_accuracy.png";
    public const string EpsCurveFile = "robust_accuracy_vs_eps.png";

    /// <summary>Writes flags.npy and report.json (what resuming needs).</summary>
    public static void WriteState(string directory, EvaluationResult result)
    {
        WriteFlags(Path.Combine(directory, FlagsFile), result.Flags);
        ReportJson.Write(Path.Combine(directory, ReportFile), result.Report);
    }

    /// <summary>Writes the state, report.md and (when <paramref name="plots"/>) the PNG plots.</summary>
    public static void WriteAll(string directory, EvaluationResult result, bool plots = true)
    {
        WriteState(directory, result);
        var files = new List<string>();
        if (plots)
        {
            ReportPlots.WriteAttackBars(result.Report, Path.Combine(directory, BarChartFile));
            files.Add(BarChartFile);
            if (result.Report.EpsSweep.Count > 0)
            {
                ReportPlots.WriteEpsCurve(result.Report, Path.Combine(directory, EpsCurveFile));
                files.Add(EpsCurveFile);
            }
        }
        AtomicFile.WriteAllText(Path.Combine(directory, MarkdownFile), ReportMarkdown.Render(result.Report, files));
    }

    /// <summary>The saved state in <paramref name="directory"/>, or null when it holds no report.json.</summary>
    public static EvaluationResult? TryLoad(string directory)
    {
        var reportPath = Path.Combine(directory, ReportFile);
        if (!File.Exists(reportPath))
            return null;
        var report = ReportJson.Deserialize(File.ReadAllText(reportPath), reportPath);
        var flagsPath = Path.Combine(directory, FlagsFile);
        if (!File.Exists(flagsPath))
            throw new InvalidDataException($"{flagsPath}: missing (needed with {ReportFile} to resume)");
        return new EvaluationResult(report, ReadFlags(flagsPath));
    }

    public static void WriteFlags(string path, RobustFlags flags)
    {
        using var t = tensor(flags.Values, new long[] { flags.Points, flags.Columns });
        NpyFile.Write(path, t);
    }

    public static RobustFlags ReadFlags(string path)
    {
        using var t = NpyFile.Read(path);
        if (t.dim() != 2 || t.dtype != ScalarType.Int8)
            throw new InvalidDataException($"{path}: expected a 2-D int8 array of robust flags, got {t.dtype} [{string.Join(",", t.shape)}]");
        return new RobustFlags((int)t.shape[0], (int)t.shape[1], t.contiguous().data<sbyte>().ToArray());
    }
}
