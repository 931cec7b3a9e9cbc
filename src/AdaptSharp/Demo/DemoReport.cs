using AdaptSharp.IO;
using AdaptSharp.Attacks;
using System.Globalization;
using AdaptSharp.Evaluation;
using AdaptSharp.Study;
using static AdaptSharp.Evaluation.ReportFormat;
using ScottPlot;

namespace AdaptSharp.Demo;

/// <summary>
/// The demo's template of the study report: report.md (the runs table with the study's columns, sizes, masking flags,
/// a plain reading), report.json and a bar chart.
/// </summary>
internal static class DemoReport
{
    public const string MarkdownFile = "report.md";
    public const string JsonFile = "report.json";
    public const string PlotFile = "robust-accuracy.png";

    private static string Pct(double? fraction) => Percent(fraction);

    private static double Pgd(StudyRunResult r, AttackSource source) => r.Main.Accuracy(StudyRunner.PgdAttack, source) ?? double.NaN;

    public static string Table(StudyResult result) => StudyReport.Table(result.Runs,
    [
        StudyReport.Text("method", r => r.Run.Id), StudyReport.TrainedParameters, StudyReport.Number("prompt file", r => Size(r.ArtifactBytes)),
        StudyReport.Clean(Pct), .. StudyReport.Suite(Pct).Take(2), StudyReport.AutoAttack(result.Runs, Pct), StudyReport.FlagCount("masking flags"),
    ]);

    public static string Markdown(StudyResult result)
    {
        var (plan, first) = (result.Plan, result.Runs.FirstOrDefault());
        var reused = result.Runs.Where(m => m.Reused).Select(m => m.Run.Id).ToList();
        return string.Create(CultureInfo.InvariantCulture, $$"""
            # AdaptSharp demo: robust prompt tuning on Fashion-MNIST

            Plan `{{plan.Name}}`, {{result.CreatedUtc}}, {{result.TotalSeconds / 60:0.0}} min on {{result.Machine}}{{(reused.Count > 0 ? $" (this run; reused from earlier runs in this folder: {string.Join(", ", reused)})." : ".")}}

            Threat model {{first?.Main.Threat}} in pixel units. Robust accuracy on the first {{first?.Main.N ?? 0:N0}} Fashion-MNIST test points (AutoAttack on the first {{first?.AutoAttack?.N ?? 0:N0}}), seed {{plan.Seeds[0]}}. {{StudyReport.Settings([StudyRunner.PgdAttack], plan.Eps)}}, generated on f_0 (prompt-agnostic) or on f_P (adaptive), always scored on f_P. {{StudyReport.Settings([new AutoAttackSpec()], plan.Eps)}}, on f_P.

            {{Table(result)}}
            Backbone: `{{result.Backbone}}` ({{Size(result.BackboneBytes)}}; {{result.BackboneSource}}); clean accuracy without prompts {{Pct(result.BackboneCleanAccuracy)}}. Each method stores only its prompt file (prompts `{{plan.Prompts}}` and the trained set `{{first?.Run.Trainable}}`), {{Size(first?.ArtifactBytes ?? 0)}} against the backbone's {{Size(result.BackboneBytes)}}.

            Tuning: {{StudyReport.Training(plan)}}. Training time: {{string.Join(", ", result.Runs.Select(r => $"{r.Run.Id} {r.TrainSeconds:0}s"))}}.

            ![robust accuracy]({{PlotFile}})

            ## What this shows
            {{string.Concat(Reading(result).Select(line => $"- {line}\n"))}}
            ## Gradient-masking checklist (EVALUATION.md), per method
            {{string.Concat(result.Runs.Select(m => $"\n**{m.Run.Id}**\n\n{ReportMarkdown.Checklist(m.Main.Checklist)}"))}}
            Per-method reports with per-point flags: `eval/<method>/{pgd,autoattack}/report.{md,json}`, `flags.npy`; training curves: `runs/<method>/metrics.jsonl`.

            """);
    }

    /// <summary>A short plain-language reading of the numbers, with the thresholds stated.</summary>
    public static IReadOnlyList<string> Reading(StudyResult result)
    {
        var lines = new List<string>();
        var natural = result.Runs.FirstOrDefault(r => r.Run.Id == "natural");
        var at = result.Runs.FirstOrDefault(r => r.Run.Id == "at");
        var adapt = result.Runs.FirstOrDefault(r => r.Run.Id.StartsWith("adapt", StringComparison.Ordinal));
        if (natural is not null)
            lines.Add($"Naturally tuned prompts keep {Pct(Pgd(natural, AttackSource.Adaptive))} under adaptive PGD: the clean backbone is not robust by itself.");
        if (at is not null)
        {
            var (agnostic, adaptive, n) = (Pgd(at, AttackSource.Agnostic), Pgd(at, AttackSource.Adaptive), at.Main.N);
            var thresholds = new ChecklistThresholds();
            lines.Add(thresholds.IsClearlyBelow(adaptive, agnostic, n)
                ? $"Prompt-agnostic AT looks robust when the attack ignores its prompts ({Pct(agnostic)}) but falls to {Pct(adaptive)} under the adaptive attack: a gap of {Pct(agnostic - adaptive)}, the paper's gradient-obfuscation finding."
                : $"Prompt-agnostic AT: {Pct(agnostic)} under the prompt-agnostic attack vs {Pct(adaptive)} adaptive (gap {Pct(agnostic - adaptive)}); here the prompt-agnostic evaluation did not overstate robustness clearly (by more than {Pct(thresholds.ClearGap(agnostic, adaptive, n))} on {n} points).");
        }
        if (adapt is not null)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"ADAPT ({adapt.Run.Id}) keeps {Pct(Pgd(adapt, AttackSource.Adaptive))} under adaptive PGD and {Pct(adapt.AutoAttack?.RobustAccuracy)} under AutoAttack, training {adapt.Parameters.TrainablePercent:0.00}% of the parameters."));
            if (natural is not null)
                lines.Add($"Compared with natural prompts, ADAPT raises adaptive-PGD accuracy by {Pct(Pgd(adapt, AttackSource.Adaptive) - Pgd(natural, AttackSource.Adaptive))} at a clean-accuracy cost of {Pct(natural.Main.CleanAccuracy - adapt.Main.CleanAccuracy)}.");
        }
        var flagged = result.Runs.Where(r => StudyReport.Flags(r) > 0).Select(r => $"{r.Run.Id} ({StudyReport.Flags(r)})").ToList();
        if (flagged.Count > 0)
            lines.Add($"Checklist flags were raised for: {string.Join(", ", flagged)}; see below.");
        return lines;
    }

    public static void Write(string directory, StudyResult result)
    {
        var plan = result.Plan;
        ReportJson.Write(Path.Combine(directory, JsonFile), new
        {
            plan = new
            {
                plan.Name,
                plan.TrainImages,
                plan.Epochs,
                plan.BatchSize,
                LearningRate = plan.PromptLearningRate,
                plan.Eps,
                plan.InnerSteps,
                plan.InnerStep,
                plan.Augment,
                plan.Prompts,
                plan.EvalPoints,
                plan.AutoAttackPoints,
                plan.EvalBatchSize,
                plan.AutoAttackBatchSize,
                Seed = plan.Seeds[0],
            },
            result.Backbone,
            result.BackboneSource,
            result.BackboneBytes,
            result.BackboneCleanAccuracy,
            rows = result.Runs.Select(r => new
            {
                Method = r.Run.Id,
                r.Parameters.Trainable,
                r.Parameters.TrainablePercent,
                PromptFileBytes = r.ArtifactBytes,
                Clean = r.Main.CleanAccuracy,
                PgdAgnostic = Pgd(r, AttackSource.Agnostic),
                PgdAdaptive = Pgd(r, AttackSource.Adaptive),
                AutoAttack = r.AutoAttack?.RobustAccuracy ?? double.NaN,
                AutoAttackPoints = r.AutoAttack?.N ?? 0,
                Flags = StudyReport.Flags(r),
                r.TrainSeconds,
                PgdPoints = r.Main.N,
            }),
            result.TotalSeconds,
            result.Machine,
            result.CreatedUtc,
        });
        WritePlot(result, Path.Combine(directory, PlotFile));
        AtomicFile.WriteAllText(Path.Combine(directory, MarkdownFile), Markdown(result));
    }

    private static void WritePlot(StudyResult result, string path)
    {
        var series = new (string Label, Func<StudyRunResult, double> Value, Color Color)[]
        {
            ("clean", r => r.Main.CleanAccuracy, Color.FromHex("#2ca02c")),
            ("PGD-10 prompt-agnostic", r => Pgd(r, AttackSource.Agnostic), Color.FromHex("#ff7f0e")),
            ("PGD-10 adaptive", r => Pgd(r, AttackSource.Adaptive), Color.FromHex("#1f77b4")),
            ("AutoAttack (adaptive)", r => r.AutoAttack?.RobustAccuracy ?? double.NaN, Color.FromHex("#d62728")),
        };
        var bars = result.Runs.SelectMany((run, i) => series.Select(s => (i, s.Value(run), s.Color)));
        var plot = ReportPlots.GroupedBars(result.Runs.Select(r => r.Run.Id).ToList(), bars, series.Select(s => (s.Label, s.Color)), "0");
        plot.Axes.SetLimitsY(0, 110);
        plot.YLabel("accuracy on f_P (%)");
        plot.Title("Fashion-MNIST, L-inf eps " + result.Plan.Eps.ToString(CultureInfo.InvariantCulture));
        ReportPlots.Save(plot, path, 900, 500);
    }
}
