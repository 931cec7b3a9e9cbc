using System.CommandLine;
using AdaptSharp.Cluster;
using AdaptSharp.Demo;
using AdaptSharp.Runtime;
using AdaptSharp.Study;
using Spectre.Console;

namespace AdaptSharp.Cli.Commands;

/// <summary>adapt study: the reproduction study (methods x attacks, seeds, ablations), resumable, writes results.md.</summary>
internal static class StudyCommand
{
    public static Command Create()
    {
        var command = new Command("study",
            "Reproduce the paper's findings on Fashion-MNIST: prompt-tuning defenses vs ADAPT vs full fine-tuning and linear probing, " +
            "prompt-agnostic vs adaptive attacks, AutoAttack, RayS, 3 seeds, ablations. Resumable: finished runs are reused. Writes OUT/results.md and results.json.");
        var planName = new Option<string>("--plan") { Description = "Study size: cpu (the documented study) or mini (toy sizes, a smoke test)", DefaultValueFactory = _ => "cpu" };
        var output = new Option<string>("--out") { Description = "Output folder", DefaultValueFactory = _ => "study-out" };
        var data = CommonOptions.FashionMnistFolder();
        var backbone = new Option<string?>("--backbone") { Description = $"Backbone to study (default: the shipped {DemoCommand.ShippedBackbone})" };
        var runs = new Option<string?>("--runs") { Description = "Only these runs: comma-separated run ids or groups (main, seeds, prompt-length, prompt-mode, lambda, patch); see --list" };
        var shard = new Option<string?>("--shard")
        {
            Description = "K/N: run only the K-th of N shards (K from 1; balanced by estimated cost), to split the study across processes or array tasks. " +
                          "Default: from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or JOB_COMPLETION_INDEX/ADAPT_SHARD_COUNT when set (see docs/cluster.md)",
        };
        var list = new Option<bool>("--list") { Description = "List the runs (id, group, done or todo, selected by --runs/--shard), then stop" };
        var reportOnly = new Option<bool>("--report-only") { Description = "Write results.md from what is finished; run nothing" };
        var device = CommonOptions.Device();
        command.With(planName, output, data, backbone, runs, shard, list, reportOnly, device);
        command.SetAction(result =>
        {
            TorchRuntime.ConfigureThreads();
            var plan = StudyPlan.Get(result.GetValue(planName)!);
            var outDir = result.GetValue(output)!;
            var backboneLabel = result.GetValue(backbone) ?? DemoCommand.ShippedBackbone;
            var backbonePath = result.GetValue(backbone) ?? Path.Combine(AppContext.BaseDirectory, DemoCommand.ShippedBackbone);
            if (!File.Exists(backbonePath))
                throw new FileNotFoundException($"backbone file not found: {backbonePath}");
            var (shardSpec, shardOrigin) = ShardEnvironment.Resolve(result.GetValue(shard));
            var selected = Select(plan, result.GetValue(runs), shardSpec);
            var spec = FashionMnistInstaller.Ensure(result.GetValue(data), TrainingConsole.Log);
            var runner = new StudyRunner(plan, backbonePath, spec, outDir, result.GetValue(device)!, TrainingConsole.Log, backboneLabel);

            if (result.GetValue(list))
            {
                foreach (var run in plan.Runs)
                    Console.WriteLine($"{run.Id,-20} {run.Group,-14} {(runner.TryLoad(run) is null ? "todo" : "done"),-5}{(selected.Contains(run) ? " selected" : "")}");
                return 0;
            }
            if (!result.GetValue(reportOnly))
            {
                runner.RequireReusableTunings(selected);
                var shardNote = shardSpec is null ? "" : $", shard {shardSpec} ({shardOrigin})";
                AnsiConsole.MarkupLine(Markup.Escape($"adapt study ({plan.Name}): {selected.Count} of {plan.Runs.Count} runs{shardNote} on {spec}, backbone {backboneLabel}, output {outDir}"));
                try
                {
                    foreach (var run in selected)
                        runner.Run(run, TrainingConsole.Run, EvaluationConsole.Driver);
                }
                catch (OperationCanceledException)
                {
                    throw new OperationCanceledException($"interrupted: finished work is kept in {outDir}; run the same command again to continue");
                }
            }

            var study = runner.Collect(MachineDescription.Describe());
            StudyReport.Write(outDir, study);
            AnsiConsole.WriteLine();
            AnsiConsole.Write(new Markup(Markup.Escape(StudyReport.MainTable(study.Runs))));
            if (study.Missing.Count > 0)
                AnsiConsole.MarkupLine(Markup.Escape($"{study.Missing.Count} run(s) not finished: {string.Join(", ", study.Missing.Select(m => m.Id))}"));
            AnsiConsole.MarkupLine(Markup.Escape($"wrote {Path.Combine(outDir, StudyReport.MarkdownFile)} and {StudyReport.JsonFile}"));
            return 0;
        });
        return command;
    }

    /// <summary>The runs named by --runs (ids or groups) and, when <paramref name="shard"/> is given, that shard of them, in plan order.</summary>
    public static IReadOnlyList<StudyRun> Select(StudyPlan plan, string? names, ShardSpec? shard)
    {
        var all = plan.Runs;
        IEnumerable<StudyRun> runs = all;
        if (!string.IsNullOrWhiteSpace(names))
        {
            var wanted = names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.OrdinalIgnoreCase);
            var unknown = wanted.Where(w => !all.Any(r => r.Id.Equals(w, StringComparison.OrdinalIgnoreCase) || r.Group.Equals(w, StringComparison.OrdinalIgnoreCase))).ToList();
            if (unknown.Count > 0)
                throw new ArgumentException($"--runs: unknown run or group '{unknown[0]}' (see adapt study --list)");
            runs = runs.Where(r => wanted.Contains(r.Id) || wanted.Contains(r.Group));
        }
        if (shard is not null)
            runs = plan.Shard(runs.ToList(), shard.Index, shard.Count);
        return runs.ToList();
    }
}
