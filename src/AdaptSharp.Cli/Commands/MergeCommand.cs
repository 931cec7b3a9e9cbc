using System.CommandLine;
using AdaptSharp.Cluster;
using AdaptSharp.Evaluation;
using Spectre.Console;

namespace AdaptSharp.Cli.Commands;

/// <summary><c>adapt merge</c>: joins the shards of an <c>adapt eval --shard K/N</c> into the report of the whole evaluation.</summary>
internal static class MergeCommand
{
    public static Command Create()
    {
        var command = new Command("merge",
            "Merge the shards of one evaluation (adapt eval --shard K/N) into --out: report.json, flags.npy, report.md, plots and the " +
            "gradient-masking checklist, as an unsharded run writes them. Refuses missing, duplicated, incomplete or foreign shards.");
        var output = new Option<string>("--out") { Description = "Output directory (the shards' --out)", Required = true };
        var shards = new Argument<string[]>("SHARD_DIR") { Description = "Shard folders (default: every OUT/shard-K-of-N)", Arity = ArgumentArity.ZeroOrMore };
        var noPlots = new Option<bool>("--no-plots") { Description = "Do not write PNG plots" };
        command.With(output, noPlots);
        command.Arguments.Add(shards);
        command.SetAction(result =>
        {
            var outDir = result.GetValue(output)!;
            var dirs = result.GetValue(shards) is { Length: > 0 } given ? given : Discover(outDir);
            var states = new List<(string, EvaluationResult)>();
            foreach (var dir in dirs)
            {
                var state = ReportWriter.TryLoad(dir)
                    ?? throw new ArgumentException($"{dir}: no {ReportWriter.ReportFile} (not a shard folder, or the shard never started)");
                states.Add((dir, state));
            }
            var merged = ShardMerger.Merge(states);

            if (ReportWriter.TryLoad(outDir) is { Report.MergedShards: null })
                throw new ArgumentException($"{outDir} already holds the report of an unsharded evaluation: merge into another --out");
            ReportWriter.WriteAll(outDir, merged, plots: !result.GetValue(noPlots));
            AnsiConsole.MarkupLine(Markup.Escape($"merged {dirs.Count} shards of {merged.Report.N} points (model {merged.Report.Model}, seed {merged.Report.Seed}, " +
                                                 $"threat model {merged.Report.Threat}, batch size {merged.Report.BatchSize})"));
            EvalCommand.Print(merged.Report, outDir);
            return 0;
        });
        return command;
    }

    /// <summary>The shard folders an <c>adapt eval --shard</c> wrote under <paramref name="outDir"/>, by K.</summary>
    private static IReadOnlyList<string> Discover(string outDir)
    {
        if (!Directory.Exists(outDir))
            throw new ArgumentException($"{outDir}: no such folder (pass the shards' --out, or the shard folders)");
        var found = Directory.GetDirectories(outDir, ShardSpec.DirectoryPattern).Order(StringComparer.Ordinal).ToList();
        return found.Count > 0 ? found : throw new ArgumentException($"{outDir} has no shard-K-of-N folders (written by adapt eval --shard K/N)");
    }
}
