using System.CommandLine;
using System.Globalization;
using AdaptSharp.Attacks;
using AdaptSharp.Cluster;
using AdaptSharp.Data;
using AdaptSharp.Checkpoints;
using AdaptSharp.Evaluation;
using AdaptSharp.IO;
using AdaptSharp.Models;
using AdaptSharp.Runtime;
using Spectre.Console;

namespace AdaptSharp.Cli.Commands;

/// <summary><c>adapt eval</c>: runs a robustness suite and writes report.json, flags.npy, report.md and plots.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var command = new Command("eval",
            "Evaluate robustness: attacks generated on f_P (adaptive) and/or f_0 (prompt-agnostic), scored on f_P, " +
            "pointwise worst case, gradient-masking checklist; writes report.json, flags.npy, report.md and plots to --out.");
        var model = new ModelOptions();
        var data = new Option<string>("--data") { Description = "Dataset: fashion-mnist[:DIR], mnist:DIR, cifar10:DIR, cifar100:DIR, imagefolder:DIR", Required = true };
        var split = new Option<string>("--split") { Description = "train or test", DefaultValueFactory = _ => "test" };
        var limit = new Option<int?>("--limit") { Description = "Evaluate the first N points of the split (default: all)" }.Between(1);
        var norm = new Option<string>("--norm") { Description = "linf or l2", DefaultValueFactory = _ => "linf" };
        var eps = new Option<string>("--eps") { Description = "Radius in pixel units, e.g. 8/255 or 0.1", DefaultValueFactory = _ => "8/255" };
        var attacks = new Option<string>("--attacks")
        {
            Description = "Comma-separated suite: clean, fgsm, fgsm-rs, pgdN, pgdNxR (R restarts), cwN, apgd-ce, apgd-dlr, apgd-t, fab-t, fab, square[Q], rays[Q], autoattack, autoattack-plus, autoattack-rand",
            DefaultValueFactory = _ => "clean,fgsm,pgd10,cw20,autoattack",
        };
        var source = new Option<string>("--source") { Description = "adaptive (attack f_P), agnostic (attack f_0) or both; always scored on f_P", DefaultValueFactory = _ => "adaptive" };
        var seed = CommonOptions.Seed();
        var batchSize = new Option<int>("--batch-size") { Description = "Points per attack batch", DefaultValueFactory = _ => 128 }.Between(1, 1 << 20);
        var output = new Option<string>("--out") { Description = "Output directory", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue the run saved in --out, skipping attacks and points already done" };
        var noChecks = new Option<bool>("--no-checks") { Description = "Skip the checklist's extra subset attacks (checks that need them show 'not run')" };
        var checkPoints = new Option<int>("--check-points") { Description = "Points used by the checklist's extra attacks", DefaultValueFactory = _ => 200 }.Between(1);
        var largeEps = new Option<string?>("--large-eps") { Description = "Eps of the 'accuracy near 0' check (default 0.5 for linf)" };
        var sweep = new Option<string?>("--eps-sweep") { Description = "Comma-separated eps values for the robust accuracy vs eps curve, e.g. 0,2/255,4/255,8/255,16/255" };
        var sweepAttack = new Option<string?>("--sweep-attack") { Description = "Attack of the eps sweep (default: the suite's first PGD, else pgd10)" };
        var noPlots = new Option<bool>("--no-plots") { Description = "Do not write PNG plots" };
        var force = CommonOptions.Force();
        var shard = new Option<string?>("--shard")
        {
            Description = "K/N: evaluate only shard K of N (K from 1), a contiguous range of whole batches, into OUT/shard-K-of-N; join the shards with adapt merge. " +
                          "Default: from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or JOB_COMPLETION_INDEX/ADAPT_SHARD_COUNT when set; 1/1 = everything (see docs/cluster.md)",
        };
        var surrogate = new Option<string?>("--surrogate")
        {
            Description = "FILE[:PROMPTS][,FILE...]: surrogate models (backbone files, each optionally with a prompt file tuned on it); every white-box " +
                          "attack of the suite is also generated on each surrogate and, with two or more, on their ensemble (averaged logits) and scored " +
                          "on f_P, as sources transfer:NAME (NAME = the file names) and transfer:ensemble",
        };
        var surrogateModel = new Option<string?>("--surrogate-model") { Description = "Architecture preset of surrogate files that are plain timm checkpoints (no AdaptSharp metadata)" };
        var device = CommonOptions.Device();
        command.With([.. model.All, data, split, limit, norm, eps, attacks, source, surrogate, surrogateModel, seed, batchSize, output, resume,
            noChecks, checkPoints, largeEps, sweep, sweepAttack, noPlots, force, shard, device]);

        command.SetAction(result =>
        {
            var (shardSpec, shardOrigin) = ShardEnvironment.Resolve(result.GetValue(shard));
            if (shardSpec is { IsWhole: true })
                shardSpec = null;
            var outDir = shardSpec is null ? result.GetValue(output)! : Path.Combine(result.GetValue(output)!, shardSpec.DirectoryName);
            var surrogateSpecs = result.GetValue(surrogate) is { } surrogateText ? SurrogateSpec.ParseList(surrogateText) : [];
            if (surrogateSpecs.Count == 0 && result.GetValue(surrogateModel) is not null)
                throw new ArgumentException("--surrogate-model names the architecture of --surrogate files: pass --surrogate FILE too");
            OutputGuard.CheckFolder(outDir, "--out", [("--backbone", result.GetValue(model.Backbone)), ("--prompts", result.GetValue(model.Prompts)),
                .. surrogateSpecs.SelectMany(sg => new[] { ("--surrogate", (string?)sg.Backbone), ("--surrogate", sg.Prompts) })]);
            var threat = ThreatModel.Parse(result.GetValue(norm)!, result.GetValue(eps)!);
            var spec = DatasetSpec.Parse(result.GetValue(data)!);
            var datasetSplit = DatasetSplits.Parse(result.GetValue(split)!);
            var options = new EvaluationOptions
            {
                Threat = threat,
                Attacks = AttackSpec.ParseList(result.GetValue(attacks)!),
                Sources = AttackSources.Parse(result.GetValue(source)!),
                Surrogates = surrogateSpecs.Select(sg => sg.Name).ToList(),
                Seed = result.GetValue(seed),
                BatchSize = result.GetValue(batchSize),
                RunChecks = !result.GetValue(noChecks),
                CheckPoints = result.GetValue(checkPoints),
                LargeEps = result.GetValue(largeEps) is { } l ? ThreatModel.ParseEps(l) : null,
                EpsSweep = result.GetValue(sweep) is { } s ? ParseEpsList(s) : [],
                SweepAttack = result.GetValue(sweepAttack) is { } sa ? AttackSpec.Parse(sa) : null,
                Data = spec.ToString(),
                Split = datasetSplit.ToString().ToLowerInvariant(),
                Shard = shardSpec,
            };
            options.Validate();

            var previous = ReportWriter.TryLoad(outDir);
            if (previous is not null && !result.GetValue(resume))
                throw new ArgumentException($"{outDir} already holds a report: pass --resume to continue it, or choose another --out");
            if (previous is null && !result.GetValue(force) && OwnFiles.FirstOrDefault(f => File.Exists(Path.Combine(outDir, f))) is { } existing)
                throw new IOException($"--out {outDir} already holds {existing} but no evaluation state: pass --force to overwrite it, or choose another --out");

            TorchRuntime.ConfigureThreads();
            using var loaded = model.Load(result, result.GetValue(device)!, ModelUse.Inference);
            var vit = loaded.Model;
            var surrogates = SurrogateLoader.LoadAll(surrogateSpecs, result.GetValue(surrogateModel), vit.Config, TorchRuntime.ResolveDevice(result.GetValue(device)!));
            using var surrogatesScope = new DisposeAll(surrogates);
            PrintResizeNote(spec, datasetSplit, vit.Config.ImageSize);
            var (images, labels) = DatasetLoader.LoadEvaluationSet(spec, result.GetValue(limit) ?? int.MaxValue,
                vit.Config.ImageSize, vit.Config.InChannels, datasetSplit);
            using var imagesScope = images;
            using var labelsScope = labels;
            if (labels.shape[0] == 0)
                throw new ArgumentException($"{spec} ({options.Split}) has no points");
            if (labels.max().item<long>() >= vit.Config.NumClasses)
                throw new ArgumentException($"{spec} has labels up to {labels.max().item<long>()} but the model's head has {vit.Config.NumClasses} classes: this data does not fit the model");

            FiniteOutputs.Require(vit, images, options.BatchSize, loaded.Source);
            var n = (int)labels.shape[0];
            if (shardSpec is not null && shardSpec.Count > ShardSpec.BatchCount(n, options.BatchSize))
                throw new ArgumentException($"--shard {shardSpec} ({shardOrigin}): {n} points make only {ShardSpec.BatchCount(n, options.BatchSize)} batches of " +
                                            $"{options.BatchSize}; use at most that many shards (or a smaller --batch-size)");

            AnsiConsole.MarkupLine(Markup.Escape($"model: {loaded.Source}; prompts {vit.PromptConfig}"));
            foreach (var (sg, sm) in surrogateSpecs.Zip(surrogates))
                AnsiConsole.MarkupLine(Markup.Escape($"surrogate {AttackSources.Format(AttackSource.Transfer, sm.Name)}: {sg} ({sm.Model.Config.Name}, prompts {sm.Model.PromptConfig}" +
                                                     (sm.Model.Config.ImageSize == vit.Config.ImageSize ? ")" : $"; inputs resized from {vit.Config.ImageSize} to {sm.Model.Config.ImageSize})")));
            if (surrogates.Count > 1)
                AnsiConsole.MarkupLine(Markup.Escape($"surrogate {SurrogateEnsemble.DefaultName}: the loss on the {surrogates.Count} surrogates' averaged logits"));
            if (shardSpec is not null)
            {
                var (firstBatch, endBatch) = shardSpec.BatchRange(n, options.BatchSize);
                AnsiConsole.MarkupLine(Markup.Escape($"shard {shardSpec} ({shardOrigin}): batches {firstBatch}..{endBatch - 1} of {ShardSpec.BatchCount(n, options.BatchSize)} " +
                                                     $"(points {firstBatch * options.BatchSize}..{Math.Min(n, endBatch * options.BatchSize) - 1}), writing {outDir}"));
            }
            AnsiConsole.MarkupLine(Markup.Escape($"data: {spec} ({options.Split}), n = {labels.shape[0]}; threat model {threat}; seed {options.Seed}" +
                                                 (previous is not null ? $"; resuming {outDir}" : "")));

            var evaluator = new RobustnessEvaluator(vit, options, surrogates);
            EvaluationResult final;
            try
            {
                final = EvaluationConsole.Run(evaluator, images, labels, previous, state => ReportWriter.WriteState(outDir, state), Interruption.Token);
            }
            catch (OperationCanceledException)
            {
                throw new OperationCanceledException($"interrupted: state saved in {outDir}; continue with the same command and --resume");
            }

            if (shardSpec is not null)
            {
                // A shard's numbers cover its own points only: its state (saved by the last checkpoint) is for adapt merge, which writes the report.
                AnsiConsole.MarkupLine(Markup.Escape($"shard {shardSpec} complete: wrote {Path.Combine(outDir, ReportWriter.ReportFile)} and {ReportWriter.FlagsFile}; " +
                                                     $"when all {shardSpec.Count} are done: adapt merge --out {result.GetValue(output)}"));
                return 0;
            }
            ReportWriter.WriteAll(outDir, final, plots: !result.GetValue(noPlots));
            Print(final.Report, outDir);
            return 0;
        });
        return command;
    }

    /// <summary>Says when the data is resized to the model's input (as adapt tune does), from the first image's size.</summary>
    private static void PrintResizeNote(DatasetSpec spec, DatasetSplit split, int imageSize)
    {
        try
        {
            using var probe = DatasetLoader.Load(spec, split, 1);
            if (probe.Height != imageSize || probe.Width != imageSize)
                AnsiConsole.MarkupLine(Markup.Escape($"note: {spec} images are {probe.Height}x{probe.Width}; resized to the model's {imageSize}x{imageSize} input"));
        }
        catch (DatasetException)
        {
            // e.g. an image folder of mixed sizes, readable only with a target size: the real load below reports real problems
        }
    }

    /// <summary>Disposes the loaded surrogates when the command ends.</summary>
    private sealed class DisposeAll(IEnumerable<IDisposable> items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items)
                item.Dispose();
        }
    }

    /// <summary>The files eval writes into --out (besides its resumable state).</summary>
    private static readonly string[] OwnFiles =
        [ReportWriter.ReportFile, ReportWriter.FlagsFile, ReportWriter.MarkdownFile, ReportWriter.BarChartFile, ReportWriter.EpsCurveFile];

    private static IReadOnlyList<double> ParseEpsList(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ThreatModel.ParseEps).ToList();

    /// <summary>The suite table, worst case and checklist on the console.</summary>
    public static void Print(RobustnessReport report, string outDir)
    {
        var table = new Table().AddColumn("attack").AddColumn("source")
            .AddColumn(new TableColumn("robust acc.").RightAligned()).AddColumn(new TableColumn("cumulative").RightAligned())
            .AddColumn(new TableColumn("max norm").RightAligned()).AddColumn(new TableColumn("time (s)").RightAligned());
        foreach (var a in report.Attacks)
            table.AddRow(Markup.Escape(a.Name), Markup.Escape(ReportMarkdown.SourceLabel(a)), ReportFormat.Percent(a.RobustAccuracy, 2),
                ReportFormat.Percent(a.CumulativeRobustAccuracy, 2), ReportFormat.Number(a.MaxPerturbation),
                a.Seconds.ToString("0.0", ReportFormat.Culture));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"robust accuracy (worst case over the suite): [bold]{ReportFormat.Percent(report.RobustAccuracy, 2)}[/] of n = {report.N}");
        foreach (var c in report.Checklist)
        {
            var status = c.Status switch
            {
                CheckStatus.Passed => "[green]passed [/]",
                CheckStatus.Flagged => "[red]FLAGGED[/]",
                _ => "[grey]not run[/]",
            };
            AnsiConsole.MarkupLine($"  {c.Number}. {status} (expected: {Markup.Escape(c.Title)}) {Markup.Escape(c.Detail)}");
        }
        AnsiConsole.MarkupLine(Markup.Escape($"wrote {Path.Combine(outDir, ReportWriter.ReportFile)}, {ReportWriter.FlagsFile}, {ReportWriter.MarkdownFile}"));
    }
}
