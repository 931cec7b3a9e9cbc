using AdaptSharp.IO;
using System.Globalization;
using System.Text;
using AdaptSharp.Attacks;
using AdaptSharp.Evaluation;

namespace AdaptSharp.Study;

/// <summary>
/// The study's tables: methods x attacks, the seed repeats (mean +- std), one table per ablation, the checklist
/// flags of every run, and the command behind each artifact. Written as results.md and results.json.
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

    /// <summary>The suite columns of every table: PGD-10 prompt-agnostic and adaptive, CW-20 adaptive.</summary>
    private static readonly (string Header, string Attack, AttackSource Source)[] SuiteColumns =
    [
        ("PGD-10 prompt-agnostic", StudyRunner.PgdAttack, AttackSource.Agnostic),
        ("PGD-10 adaptive", StudyRunner.PgdAttack, AttackSource.Adaptive),
        ("CW-20 adaptive", StudyRunner.CwAttack, AttackSource.Adaptive),
    ];

    private static IEnumerable<string> SuiteCells(StudyRunResult r) => SuiteColumns.Select(c => Pct(r.Main.Accuracy(c.Attack, c.Source)));

    private static string TrainedParameters(StudyRunResult r) => ReportFormat.TrainedParameters(r.Parameters.Trainable, r.Parameters.TrainablePercent);

    public static string MainTable(IReadOnlyList<StudyRunResult> results)
    {
        var main = results.Where(r => r.Run.Group == StudyGroups.Main).ToList();
        var aaN = main.FirstOrDefault(r => r.AutoAttack is not null)?.AutoAttack!.N;
        var raysN = main.FirstOrDefault(r => r.Rays is not null)?.Rays!.N;
        var table = new MarkdownTable("lrrrrrrrrrr", ["run", "trained params", "clean", "FGSM", .. SuiteColumns.Select(c => c.Header),
            $"AutoAttack (adaptive, n={aaN?.ToString(Inv) ?? "-"})", $"RayS (n={raysN?.ToString(Inv) ?? "-"})", "flags", "train time"]);
        foreach (var r in main)
            table.Row([r.Run.Label, TrainedParameters(r), Pct(r.Main.CleanAccuracy), Pct(r.Main.Accuracy(StudyRunner.FgsmAttack, AttackSource.Adaptive)), .. SuiteCells(r),
                Pct(r.AutoAttack?.RobustAccuracy), r.Rays is null ? "-" : $"{Pct(r.Rays.RobustAccuracy)} (PGD {Pct(r.RaysPgdAdaptive)})", Flags(r).ToString(Inv), ReportFormat.Minutes(r.TrainSeconds)]);
        return table.ToString();
    }

    public static string SeedTable(IReadOnlyList<StudyRunResult> results)
    {
        var table = new MarkdownTable("lrrrrr", ["method", "seeds", "clean", .. SuiteColumns.Select(c => c.Header)]);
        foreach (var group in results.Where(r => r.Run.Group is StudyGroups.Main or StudyGroups.Seeds && !r.Run.FullFineTuning && !r.Run.LinearProbing)
                     .GroupBy(r => r.Run.Method).Where(g => g.Count() > 1))
        {
            var runs = group.ToList();
            table.Row([Training.ObjectiveOptions.FormatKind(group.Key), string.Join(",", runs.Select(r => r.Run.Seed.ToString(Inv))), MeanStd(runs, r => r.Main.CleanAccuracy),
                .. SuiteColumns.Select(c => MeanStd(runs, r => r.Main.Accuracy(c.Attack, c.Source)))]);
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
            StudyGroups.PromptLength => [.. rows.OrderBy(r => PromptLength(r.Run.Prompts))],
            StudyGroups.Lambda => [.. rows.OrderBy(r => r.Run.Lambda)],
            _ => rows,
        };
        var table = new MarkdownTable("lllrrrrrrr", ["run", "prompts", "trained", "lambda", "trained params", "clean", .. SuiteColumns.Select(c => c.Header), "flags"]);
        foreach (var r in rows)
            table.Row([r.Run.Id, r.Run.Prompts, $"prompts+{r.Run.Trainable}", r.Run.Lambda.ToString("G", Inv), TrainedParameters(r), Pct(r.Main.CleanAccuracy),
                .. SuiteCells(r), Flags(r).ToString(Inv)]);
        return table.ToString();
    }

    public static string Markdown(StudyPlan plan, string backbone, string machine, IReadOnlyList<StudyRunResult> results,
        IReadOnlyList<StudyRun> missing, Func<StudyRun, string> command)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# AdaptSharp study `{plan.Name}` (generated by `adapt study`)");
        sb.AppendLine();
        sb.AppendLine(string.Create(Inv,
            $"Backbone `{backbone}`; Fashion-MNIST, L-inf eps {plan.Eps:G} in pixel units. Training: the first {plan.TrainImages?.ToString("N0", Inv) ?? "60,000"} training images, " +
            $"{plan.Epochs} epochs, batch {plan.BatchSize}, SGD one-cycle (peak lr {plan.PromptLearningRate:G} for prompts/head/patch, {plan.FullLearningRate:G} for full fine-tuning), " +
            $"inner PGD-{plan.InnerSteps} step {plan.InnerStep:G} with uniform start{(plan.Augment ? "" : ", no augmentation")}. " +
            $"Evaluation on the first {plan.EvalPoints} test points: FGSM (one step of eps), PGD-10 (step eps/4, uniform start, CE), CW-20 (margin loss), each generated on f_P (adaptive) and on f_0 (prompt-agnostic), always scored on f_P; " +
            $"AutoAttack standard on the first {plan.AutoAttackPoints}; RayS ({plan.RaysQueries} queries) on the first {plan.RaysPoints}. Machine: {machine}."));
        sb.AppendLine();
        sb.AppendLine("## Methods x attacks (robust accuracy, %)");
        sb.AppendLine();
        sb.Append(MainTable(results));
        sb.AppendLine();
        sb.AppendLine("## Seeds (mean +- std over seeds, %)");
        sb.AppendLine();
        sb.Append(SeedTable(results));
        foreach (var (group, title) in new[] { (StudyGroups.PromptLength, "prompt length"), (StudyGroups.PromptMode, "shallow vs deep"), (StudyGroups.Lambda, "lambda"), (StudyGroups.Patch, "patch embedding trained vs frozen") })
        {
            sb.AppendLine();
            sb.AppendLine($"## Ablation on adapt-ce: {title}");
            sb.AppendLine();
            sb.Append(AblationTable(results, group));
        }
        sb.AppendLine();
        sb.AppendLine("## Gradient-masking flags per run");
        sb.AppendLine();
        sb.AppendLine("Checklist of EVALUATION.md on each run's main report (items 2, 4, 5 on the first " +
            plan.CheckPoints.ToString(Inv) + " points); item 3 (black box below white box) where RayS ran. Only flagged items are listed.");
        sb.AppendLine();
        foreach (var r in results)
        {
            var flagged = r.Main.Checklist.Where(c => c.Status == CheckStatus.Flagged).Select(c => $"{c.Number}. {c.Title}: {c.Detail}").ToList();
            if (BlackBoxBeatsWhiteBox(r))
                flagged.Add($"3. RayS {Pct(r.Rays!.RobustAccuracy)} below adaptive PGD-10 {Pct(r.RaysPgdAdaptive)} on the same {r.Rays.N} points");
            var blackBox = r.Rays is not null && !BlackBoxBeatsWhiteBox(r)
                ? $" (item 3 checked with RayS: {Pct(r.Rays.RobustAccuracy)} vs adaptive PGD-10 {Pct(r.RaysPgdAdaptive)} on the same {r.Rays.N} points, not below)"
                : "";
            sb.AppendLine($"- **{r.Run.Id}**: {(flagged.Count == 0 ? "none" : string.Join("; ", flagged))}{blackBox}");
        }
        sb.AppendLine();
        sb.AppendLine("## Runs: command, wall time");
        sb.AppendLine();
        var runs = new MarkdownTable("lrrl", "run", "training", "evaluation", "command");
        foreach (var r in results)
        {
            var eval = r.Main.TotalSeconds + (r.AutoAttack?.TotalSeconds ?? 0) + (r.Rays?.TotalSeconds ?? 0);
            runs.Row(r.Run.Id, ReportFormat.Minutes(r.TrainSeconds), ReportFormat.Minutes(eval), $"`{command(r.Run)}`");
        }
        sb.Append(runs);
        if (missing.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine($"Not finished yet: {string.Join(", ", missing.Select(m => m.Id))}.");
        }
        return sb.ToString();
    }

    public static void Write(string directory, StudyPlan plan, string backbone, string machine, IReadOnlyList<StudyRunResult> results,
        IReadOnlyList<StudyRun> missing, Func<StudyRun, string> command)
    {
        ReportJson.Write(Path.Combine(directory, JsonFile), new
        {
            plan = plan.Name,
            backbone,
            machine,
            runs = results.Select(r => new
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
                command = command(r.Run),
            }),
            missing = missing.Select(m => m.Id),
        });
        AtomicFile.WriteAllText(Path.Combine(directory, MarkdownFile), Markdown(plan, backbone, machine, results, missing, command));
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

    private static int PromptLength(string prompts) =>
        int.TryParse(prompts[(prompts.IndexOf(':') + 1)..], NumberStyles.Integer, Inv, out var t) ? t : 0;
}
