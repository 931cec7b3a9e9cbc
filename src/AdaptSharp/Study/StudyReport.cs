using AdaptSharp.IO;
using System.Globalization;
using AdaptSharp.Attacks;
using AdaptSharp.Evaluation;

namespace AdaptSharp.Study;

/// <summary>
/// The report builder of the study and the demo: runs tables over typed columns, the checklist flag count and the
/// training prose they share (<see cref="Demo.DemoReport"/> is the demo's template of it), and the study's own
/// template: methods x attacks, the seed repeats (mean +- std), one table per ablation, the checklist flags of every
/// run, and the command behind each artifact, written as results.md and results.json.
/// </summary>
internal static class StudyReport
{
    public const string MarkdownFile = "results.md";
    public const string JsonFile = "results.json";

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Percent without the sign: the headers say the tables are in %.</summary>
    private static string Pct(double? v) => ReportFormat.Percent(v, sign: false);

    public static int Flags(StudyRunResult r) =>
        r.Main.Checklist.Count(c => c.Status == CheckStatus.Flagged) + (BlackBoxBeatsWhiteBox(r) ? 1 : 0);

    /// <summary>
    /// Checklist item 3 for RayS, which runs on a subset: RayS accuracy clearly below adaptive PGD on the same points
    /// (the checklist's one definition of "clearly", <see cref="ChecklistThresholds"/>).
    /// </summary>
    public static bool BlackBoxBeatsWhiteBox(StudyRunResult r) =>
        r.Rays is not null && r.RaysPgdAdaptive is double pgd && new ChecklistThresholds().IsClearlyBelow(r.Rays.RobustAccuracy, pgd, r.Rays.N);

    /// <summary>One column of a runs table: its header, alignment (l text, r numbers) and a run's cell.</summary>
    public sealed record Column(string Header, char Align, Func<StudyRunResult, string> Cell);

    /// <summary>The runs tables of the study's and the demo's reports: one row per run, the template's columns.</summary>
    public static string Table(IEnumerable<StudyRunResult> runs, IEnumerable<Column> columns)
    {
        var cols = columns.ToList();
        var table = new MarkdownTable(string.Concat(cols.Select(c => c.Align)), [.. cols.Select(c => c.Header)]);
        foreach (var r in runs)
            table.Row([.. cols.Select(c => c.Cell(r))]);
        return table.ToString();
    }

    public static Column Text(string header, Func<StudyRunResult, string> cell) => new(header, 'l', cell);

    public static Column Number(string header, Func<StudyRunResult, string> cell) => new(header, 'r', cell);

    public static readonly Column TrainedParameters =
        Number("trained params", r => ReportFormat.TrainedParameters(r.Parameters.Trainable, r.Parameters.TrainablePercent));

    /// <summary>Clean accuracy in <paramref name="percent"/>'s format (the demo's with %, the study's without).</summary>
    public static Column Clean(Func<double?, string> percent) => Number("clean", r => percent(r.Main.CleanAccuracy));

    private static readonly (string Header, Func<StudyRunResult, double?> Value)[] SuiteColumns =
    [
        ("PGD-10 prompt-agnostic", r => r.Main.Accuracy(StudyRunner.PgdAttack, AttackSource.Agnostic)),
        ("PGD-10 adaptive", r => r.Main.Accuracy(StudyRunner.PgdAttack, AttackSource.Adaptive)),
        ("CW-20 adaptive", r => r.Main.Accuracy(StudyRunner.CwAttack, AttackSource.Adaptive)),
    ];

    /// <summary>The suite's columns: PGD-10 prompt-agnostic and adaptive, CW-20 adaptive.</summary>
    public static IEnumerable<Column> Suite(Func<double?, string> percent) => SuiteColumns.Select(c => Number(c.Header, r => percent(c.Value(r))));

    public static Column AutoAttack(IEnumerable<StudyRunResult> runs, Func<double?, string> percent) =>
        Number($"AutoAttack (adaptive, n={runs.FirstOrDefault(r => r.AutoAttack is not null)?.AutoAttack!.N.ToString(Inv) ?? "-"})",
            r => percent(r.AutoAttack?.RobustAccuracy));

    public static Column FlagCount(string header) => Number(header, r => Flags(r).ToString(Inv));

    /// <summary>Each attack's name and exact settings, from its spec (never restated by hand).</summary>
    public static string Settings(IEnumerable<AttackSpec> attacks, double eps) =>
        string.Join(", ", attacks.Select(a => $"{a} ({a.Describe(ThreatModel.LInf(eps))})"));

    /// <summary>How the plan's runs were tuned, for the prose of every template.</summary>
    public static string Training(StudyPlan plan) => string.Create(Inv,
        $"{plan.Epochs} epoch(s) on the first {plan.TrainImages?.ToString("N0", Inv) ?? "60,000"} training images, batch {plan.BatchSize}, " +
        $"SGD one-cycle peak lr {plan.PromptLearningRate:G}{(plan.Runs.Any(r => r.FullFineTuning) ? $" ({plan.FullLearningRate:G} for full fine-tuning)" : "")}, " +
        $"inner PGD-{plan.InnerSteps} (step {plan.InnerStep:G}, uniform start) at eps {plan.Eps:G}{(plan.Augment ? "" : ", no augmentation")}");

    public static string MainTable(IReadOnlyList<StudyRunResult> results)
    {
        var main = results.Where(r => r.Run.Group == StudyGroups.Main).ToList();
        var raysN = main.FirstOrDefault(r => r.Rays is not null)?.Rays!.N;
        return Table(main, [Text("run", r => r.Run.Label), TrainedParameters, Clean(Pct), Number("FGSM", r => Pct(r.Main.Accuracy(StudyRunner.FgsmAttack, AttackSource.Adaptive))),
            .. Suite(Pct), AutoAttack(main, Pct),
            Number($"RayS (n={raysN?.ToString(Inv) ?? "-"})", r => r.Rays is null ? "-" : $"{Pct(r.Rays.RobustAccuracy)} (PGD {Pct(r.RaysPgdAdaptive)})"),
            FlagCount("flags"), Number("train time", r => ReportFormat.Minutes(r.TrainSeconds))]);
    }

    public static string SeedTable(IReadOnlyList<StudyRunResult> results)
    {
        var table = new MarkdownTable("lrrrrr", ["method", "seeds", "clean", .. SuiteColumns.Select(c => c.Header)]);
        foreach (var group in results.Where(r => r.Run.Group is StudyGroups.Main or StudyGroups.Seeds && !r.Run.FullFineTuning && !r.Run.LinearProbing)
                     .GroupBy(r => r.Run.Method).Where(g => g.Count() > 1))
        {
            var runs = group.ToList();
            table.Row([AdaptSharp.Training.TrainingObjective.FormatKind(group.Key), string.Join(",", runs.Select(r => r.Run.Seed.ToString(Inv))), MeanStd(runs, r => r.Main.CleanAccuracy),
                .. SuiteColumns.Select(c => MeanStd(runs, c.Value))]);
        }
        return table.ToString();
    }

    /// <summary>One ablation table: the reference adapt-ce run of the main table, then the group's runs.</summary>
    public static string AblationTable(IReadOnlyList<StudyRunResult> results, string group)
    {
        var reference = results.FirstOrDefault(r => r.Run.Group == StudyGroups.Main && r.Run.Id == "pt-adapt-ce");
        var rows = results.Where(r => r.Run.Group == group).ToList();
        if (reference is not null)
            rows.Insert(0, reference);
        rows = group switch
        {
            StudyGroups.PromptLength => [.. rows.OrderBy(r => Models.PromptConfig.Parse(r.Run.Prompts).Length)],
            StudyGroups.Lambda => [.. rows.OrderBy(r => r.Run.Lambda)],
            _ => rows,
        };
        return Table(rows, [Text("run", r => r.Run.Id), Text("prompts", r => r.Run.Prompts), Text("trained", r => $"prompts+{r.Run.Trainable}"),
            Number("lambda", r => r.Run.Lambda.ToString("G", Inv)), TrainedParameters, Clean(Pct), .. Suite(Pct), FlagCount("flags")]);
    }

    public static string Markdown(StudyResult result)
    {
        var (plan, results) = (result.Plan, result.Runs);
        (string Group, string Title)[] ablations =
            [(StudyGroups.PromptLength, "prompt length"), (StudyGroups.PromptMode, "shallow vs deep"), (StudyGroups.Lambda, "lambda"), (StudyGroups.Patch, "patch embedding trained vs frozen")];
        return string.Create(Inv, $$"""
            # AdaptSharp study `{{plan.Name}}` (generated by `adapt study`)

            Backbone `{{result.Backbone}}`; Fashion-MNIST, L-inf eps {{plan.Eps:G}} in pixel units. Training: {{Training(plan)}}. Evaluation on the first {{plan.EvalPoints:N0}} test points: {{Settings(plan.Suite.Where(a => a is not CleanSpec), plan.Eps)}}, each generated on f_P (adaptive) and on f_0 (prompt-agnostic), always scored on f_P; AutoAttack on the first {{plan.AutoAttackPoints:N0}} ({{Settings([new AutoAttackSpec()], plan.Eps)}}); RayS on the first {{plan.RaysPoints:N0}} ({{Settings([new RaysSpec(plan.RaysQueries)], plan.Eps)}}). Machine: {{result.Machine}}.

            ## Methods x attacks (robust accuracy, %)

            {{MainTable(results)}}
            ## Seeds (mean +- std over seeds, %)

            {{SeedTable(results)}}{{string.Concat(ablations.Select(a => $"\n## Ablation on adapt-ce: {a.Title}\n\n{AblationTable(results, a.Group)}"))}}
            ## Gradient-masking flags per run

            Checklist of EVALUATION.md on each run's main report (items 2, 4, 5 on the first {{plan.CheckPoints:N0}} points); item 3 (black box below white box) where RayS ran. Only flagged items are listed.

            {{string.Concat(results.Select(r => $"- **{r.Run.Id}**: {FlaggedItems(r)}\n"))}}
            ## Runs: command, wall time

            {{Table(results, [Text("run", r => r.Run.Id), Number("training", r => ReportFormat.Minutes(r.TrainSeconds)),
                Number("evaluation", r => ReportFormat.Minutes(r.Main.TotalSeconds + (r.AutoAttack?.TotalSeconds ?? 0) + (r.Rays?.TotalSeconds ?? 0))),
                Text("command", r => $"`{result.Command(r.Run)}`")])}}{{(result.Missing.Count > 0 ? $"\nNot finished yet: {string.Join(", ", result.Missing.Select(m => m.Id))}.\n" : "")}}
            """);
    }

    /// <summary>A run's flagged checklist items ("none"), with item 3 from RayS where it ran.</summary>
    private static string FlaggedItems(StudyRunResult r)
    {
        var flagged = r.Main.Checklist.Where(c => c.Status == CheckStatus.Flagged).Select(c => $"{c.Number}. {c.Title}: {c.Detail}").ToList();
        if (BlackBoxBeatsWhiteBox(r))
            flagged.Add($"3. RayS {Pct(r.Rays!.RobustAccuracy)} below adaptive PGD-10 {Pct(r.RaysPgdAdaptive)} on the same {r.Rays.N} points");
        return (flagged.Count == 0 ? "none" : string.Join("; ", flagged)) + (r.Rays is not null && !BlackBoxBeatsWhiteBox(r)
            ? $" (item 3 checked with RayS: {Pct(r.Rays.RobustAccuracy)} vs adaptive PGD-10 {Pct(r.RaysPgdAdaptive)} on the same {r.Rays.N} points, not below)"
            : "");
    }

    public static void Write(string directory, StudyResult result)
    {
        ReportJson.Write(Path.Combine(directory, JsonFile), new
        {
            plan = result.Plan.Name,
            backbone = result.Backbone,
            machine = result.Machine,
            runs = result.Runs.Select(r => new
            {
                r.Run,
                r.ArtifactBytes,
                trainable = r.Parameters.Trainable,
                total = r.Parameters.Total,
                r.TrainSeconds,
                clean = r.Main.CleanAccuracy,
                attacks = r.Main.Attacks.Select(a => new { a.Name, a.Source, a.RobustAccuracy }),
                autoattack = r.AutoAttack?.RobustAccuracy,
                autoattackPoints = r.AutoAttack?.N,
                rays = r.Rays?.RobustAccuracy,
                raysPoints = r.Rays?.N,
                raysPgdAdaptive = r.RaysPgdAdaptive,
                flags = Flags(r),
                command = result.Command(r.Run),
            }),
            missing = result.Missing.Select(m => m.Id),
        });
        AtomicFile.WriteAllText(Path.Combine(directory, MarkdownFile), Markdown(result));
    }

    private static string MeanStd(IReadOnlyList<StudyRunResult> runs, Func<StudyRunResult, double?> value)
    {
        var values = runs.Select(value).Where(v => v is double d && !double.IsNaN(d)).Select(v => 100 * v!.Value).ToList();
        if (values.Count == 0)
            return "-";
        var mean = values.Average();
        var std = values.Count > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1)) : 0;
        return string.Create(Inv, $"{mean:0.0} +- {std:0.0}");
    }
}
