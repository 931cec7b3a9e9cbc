using AdaptSharp.IO;
using AdaptSharp.Attacks;
using System.Globalization;
using System.Text;
using AdaptSharp.Evaluation;
using AdaptSharp.Study;
using static AdaptSharp.Evaluation.ReportFormat;
using ScottPlot;

namespace AdaptSharp.Demo;

/// <summary>The demo's report: report.md (table, sizes, masking flags, a plain reading), report.json and a bar chart.</summary>
internal static class DemoReport
{
    public const string MarkdownFile = "report.md";
    public const string JsonFile = "report.json";
    public const string PlotFile = "robust-accuracy.png";

    public sealed record Row(
        string Method, long Trainable, double TrainablePercent, long PromptFileBytes, double Clean,
        double PgdAgnostic, double PgdAdaptive, double AutoAttack, int AutoAttackPoints, int Flags, double TrainSeconds, int PgdPoints);

    public static IReadOnlyList<Row> Rows(DemoResult result) => result.Methods.Select(m => new Row(
        m.Run.Id, m.Parameters.Trainable, m.Parameters.TrainablePercent, m.ArtifactBytes, m.Main.CleanAccuracy,
        Accuracy(m.Main, StudyRunner.PgdAttack, AttackSource.Agnostic), Accuracy(m.Main, StudyRunner.PgdAttack, AttackSource.Adaptive),
        m.AutoAttack?.RobustAccuracy ?? double.NaN, m.AutoAttack?.N ?? 0, StudyReport.Flags(m), m.TrainSeconds, m.Main.N)).ToList();

    private static double Accuracy(RobustnessReport report, string attack, AttackSource source) =>
        report.Accuracy(attack, source) ?? double.NaN;

    public static string Table(DemoResult result)
    {
        var rows = Rows(result);
        var m = rows.FirstOrDefault()?.AutoAttackPoints ?? 0;
        var table = new MarkdownTable("lrrrrrrr", "method", "trained params", "prompt file", "clean", "PGD-10 prompt-agnostic", "PGD-10 adaptive",
            $"AutoAttack (adaptive, n={m})", "masking flags");
        foreach (var r in rows)
            table.Row(r.Method, TrainedParameters(r.Trainable, r.TrainablePercent), Size(r.PromptFileBytes),
                Percent(r.Clean), Percent(r.PgdAgnostic), Percent(r.PgdAdaptive), Percent(r.AutoAttack), r.Flags.ToString(CultureInfo.InvariantCulture));
        return table.ToString();
    }

    public static string Markdown(DemoResult result)
    {
        var rows = Rows(result);
        var first = result.Methods.FirstOrDefault();
        var threat = first?.Main.Threat.ToString() ?? "";
        var sb = new StringBuilder();
        sb.AppendLine("# AdaptSharp demo: robust prompt tuning on Fashion-MNIST");
        sb.AppendLine();
        var reused = result.Methods.Where(m => m.Reused).Select(m => m.Run.Id).ToList();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Plan `{result.Plan.Name}`, {result.CreatedUtc}, {result.TotalSeconds / 60:0.0} min on {result.Machine}") +
            (reused.Count > 0 ? $" (this run; reused from earlier runs in this folder: {string.Join(", ", reused)})." : "."));
        sb.AppendLine();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Threat model {threat} in pixel units. Robust accuracy on the first {first?.Main.N ?? 0} Fashion-MNIST test points (AutoAttack on the first {rows.FirstOrDefault()?.AutoAttackPoints ?? 0}), seed {result.Plan.Seeds[0]}. " +
            $"PGD-10: step eps/4, uniform random start, CE loss; generated on f_0 (prompt-agnostic) or on f_P (adaptive), always scored on f_P. AutoAttack: standard (APGD-CE, APGD-T, FAB-T, Square 5000 queries) on f_P."));
        sb.AppendLine();
        sb.Append(Table(result));
        sb.AppendLine();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Backbone: `{result.Backbone}` ({Size(result.BackboneBytes)}; {result.BackboneSource}); clean accuracy without prompts {Percent(result.BackboneCleanAccuracy)}. " +
            $"Each method stores only its prompt file (prompts `{result.Plan.Prompts}` and the trained set `{first?.Run.Trainable}`), {Size(rows.FirstOrDefault()?.PromptFileBytes ?? 0)} against the backbone's {Size(result.BackboneBytes)}."));
        sb.AppendLine();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Tuning: {result.Plan.Epochs} epoch(s) on the first {result.Plan.TrainImages?.ToString("N0", CultureInfo.InvariantCulture) ?? "60,000"} training images, batch {result.Plan.BatchSize}, SGD one-cycle peak lr {result.Plan.PromptLearningRate}, inner PGD-{result.Plan.InnerSteps} (step {result.Plan.InnerStep}) at eps {result.Plan.Eps}{(result.Plan.Augment ? "" : ", no augmentation")}. " +
            $"Training time: {string.Join(", ", rows.Select(r => $"{r.Method} {r.TrainSeconds:0}s"))}."));
        sb.AppendLine();
        sb.AppendLine("![robust accuracy](" + PlotFile + ")");
        sb.AppendLine();
        sb.AppendLine("## What this shows");
        foreach (var line in Reading(rows))
            sb.AppendLine("- " + line);
        sb.AppendLine();
        sb.AppendLine("## Gradient-masking checklist (EVALUATION.md), per method");
        foreach (var m in result.Methods)
        {
            sb.AppendLine();
            sb.AppendLine($"**{m.Run.Id}**");
            foreach (var c in m.Main.Checklist)
                sb.AppendLine($"- {c.Number}. expected: {c.Title} — {ReportMarkdown.Status(c.Status)}: {c.Detail}");
        }
        sb.AppendLine();
        sb.AppendLine("Per-method reports with per-point flags: `eval/<method>/{pgd,autoattack}/report.{md,json}`, `flags.npy`; training curves: `runs/<method>/metrics.jsonl`.");
        return sb.ToString();
    }

    /// <summary>A short plain-language reading of the numbers, with the thresholds stated.</summary>
    public static IReadOnlyList<string> Reading(IReadOnlyList<Row> rows)
    {
        var lines = new List<string>();
        var natural = rows.FirstOrDefault(r => r.Method == "natural");
        var at = rows.FirstOrDefault(r => r.Method == "at");
        var adapt = rows.FirstOrDefault(r => r.Method.StartsWith("adapt", StringComparison.Ordinal));
        if (natural is not null)
            lines.Add($"Naturally tuned prompts keep {Percent(natural.PgdAdaptive)} under adaptive PGD: the clean backbone is not robust by itself.");
        if (at is not null)
        {
            var gap = at.PgdAgnostic - at.PgdAdaptive;
            var thresholds = new ChecklistThresholds();
            lines.Add(thresholds.IsClearlyBelow(at.PgdAdaptive, at.PgdAgnostic, at.PgdPoints)
                ? $"Prompt-agnostic AT looks robust when the attack ignores its prompts ({Percent(at.PgdAgnostic)}) but falls to {Percent(at.PgdAdaptive)} under the adaptive attack: a gap of {Percent(gap)}, the paper's gradient-obfuscation finding."
                : $"Prompt-agnostic AT: {Percent(at.PgdAgnostic)} under the prompt-agnostic attack vs {Percent(at.PgdAdaptive)} adaptive (gap {Percent(gap)}); here the prompt-agnostic evaluation did not overstate robustness clearly (by more than {Percent(thresholds.ClearGap(at.PgdAgnostic, at.PgdAdaptive, at.PgdPoints))} on {at.PgdPoints} points).");
        }
        if (adapt is not null)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"ADAPT ({adapt.Method}) keeps {Percent(adapt.PgdAdaptive)} under adaptive PGD and {Percent(adapt.AutoAttack)} under AutoAttack, training {adapt.TrainablePercent:0.00}% of the parameters."));
            if (natural is not null)
                lines.Add($"Compared with natural prompts, ADAPT raises adaptive-PGD accuracy by {Percent(adapt.PgdAdaptive - natural.PgdAdaptive)} at a clean-accuracy cost of {Percent(natural.Clean - adapt.Clean)}.");
        }
        if (rows.Any(r => r.Flags > 0))
            lines.Add($"Checklist flags were raised for: {string.Join(", ", rows.Where(r => r.Flags > 0).Select(r => $"{r.Method} ({r.Flags})"))}; see below.");
        return lines;
    }

    public static void Write(string directory, DemoResult result)
    {
        ReportJson.Write(Path.Combine(directory, JsonFile), new
        {
            plan = new
            {
                result.Plan.Name,
                result.Plan.TrainImages,
                result.Plan.Epochs,
                result.Plan.BatchSize,
                LearningRate = result.Plan.PromptLearningRate,
                result.Plan.Eps,
                result.Plan.InnerSteps,
                result.Plan.InnerStep,
                result.Plan.Augment,
                result.Plan.Prompts,
                result.Plan.EvalPoints,
                result.Plan.AutoAttackPoints,
                result.Plan.EvalBatchSize,
                Seed = result.Plan.Seeds[0],
            },
            result.Backbone,
            result.BackboneSource,
            result.BackboneBytes,
            result.BackboneCleanAccuracy,
            rows = Rows(result),
            result.TotalSeconds,
            result.Machine,
            result.CreatedUtc,
        });
        WritePlot(result, Path.Combine(directory, PlotFile));
        AtomicFile.WriteAllText(Path.Combine(directory, MarkdownFile), Markdown(result));
    }

    private static void WritePlot(DemoResult result, string path)
    {
        var rows = Rows(result);
        var series = new (string Label, Func<Row, double> Value, Color Color)[]
        {
            ("clean", r => r.Clean, Color.FromHex("#2ca02c")),
            ("PGD-10 prompt-agnostic", r => r.PgdAgnostic, Color.FromHex("#ff7f0e")),
            ("PGD-10 adaptive", r => r.PgdAdaptive, Color.FromHex("#1f77b4")),
            ("AutoAttack (adaptive)", r => r.AutoAttack, Color.FromHex("#d62728")),
        };
        var bars = rows.SelectMany((row, i) => series.Select(s => (i, s.Value(row), s.Color)));
        var plot = ReportPlots.GroupedBars(rows.Select(r => r.Method).ToList(), bars, series.Select(s => (s.Label, s.Color)), "0");
        plot.Axes.SetLimitsY(0, 110);
        plot.YLabel("accuracy on f_P (%)");
        plot.Title("Fashion-MNIST, L-inf eps " + result.Plan.Eps.ToString(CultureInfo.InvariantCulture));
        ReportPlots.Save(plot, path, 900, 500);
    }
}
