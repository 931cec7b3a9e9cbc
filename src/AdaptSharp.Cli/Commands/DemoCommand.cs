using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using AdaptSharp.Checkpoints;
using AdaptSharp.Cluster;
using AdaptSharp.Demo;
using AdaptSharp.Models;
using AdaptSharp.Runtime;
using AdaptSharp.Study;
using AdaptSharp.Training;
using Spectre.Console;

namespace AdaptSharp.Cli.Commands;

/// <summary>adapt demo: the embedded default, offline on a CPU: backbone, three tunings, evaluation, report.</summary>
internal static class DemoCommand
{
    public const string ShippedBackbone = "assets/vit-fmnist-cpu-d8.safetensors";

    public static Command Create()
    {
        var command = new Command("demo",
            "Robustify a small pretrained ViT on Fashion-MNIST with ADAPT and compare it with natural and prompt-agnostic AT prompts " +
            "(clean, prompt-agnostic vs adaptive PGD, AutoAttack); writes demo-out/report.md.");
        var full = new Option<bool>("--full") { Description = "The same study at full size (all 60,000 training images, more epochs, AutoAttack on all 10,000 test points)" };
        var planName = new Option<string>("--plan") { Description = "Study size: quick (default, about 5-8 min on 2 cores), full (same as --full), mini (a smoke test in about a minute)", DefaultValueFactory = _ => "quick" };
        var output = new Option<string>("--out") { Description = "Output folder", DefaultValueFactory = _ => "demo-out" };
        var data = CommonOptions.FashionMnistFolder();
        var backbone = new Option<string?>("--backbone") { Description = "Backbone to tune instead of the shipped one" };
        var pretrain = new Option<bool>("--pretrain") { Description = "Pretrain the backbone here (adapt pretrain, cached in ~/.cache/adaptsharp) instead of using the shipped one" };
        var fresh = new Option<bool>("--fresh") { Description = "Discard earlier results in the output folder" };
        var jobs = new Option<int?>("--jobs")
        {
            Description = "Worker processes on a CPU, each with an equal share of the torch threads, taking the runs' trainings, evaluations and " +
                "AutoAttack halves as they become ready (default: one per thread; 1: one after another with all threads)",
        }.Between(1, 1024);
        var only = new Option<string?>("--runs") { Description = "Only these runs (comma-separated), no report: a parallel demo's worker", Hidden = true };
        var stage = new Option<string?>("--stage") { Description = "With --runs: only this stage (train, eval, autoattack)", Hidden = true };
        var shard = new Option<string?>("--shard") { Description = "With --stage autoattack: only this shard K/N of its batches", Hidden = true };
        var device = CommonOptions.Device();
        var seed = CommonOptions.Seed();
        command.With(full, planName, output, data, backbone, pretrain, fresh, jobs, only, stage, shard, device, seed);
        command.SetAction(result =>
        {
            var clock = Stopwatch.StartNew();
            if (result.GetValue(only) is null && (result.GetValue(stage) is not null || result.GetValue(shard) is not null))
                throw new ArgumentException("--stage and --shard select a part of the runs given with --runs");
            TorchRuntime.ConfigureThreads();
            var plan = result.GetValue(full) ? DemoPlan.Full(result.GetValue(seed)) : DemoPlan.Get(result.GetValue(planName)!, result.GetValue(seed));
            var outDir = result.GetValue(output)!;
            if (result.GetValue(fresh) && Directory.Exists(outDir))
                Directory.Delete(outDir, recursive: true);

            var spec = FashionMnistInstaller.Ensure(result.GetValue(data), TrainingConsole.Log);
            var (backbonePath, source) = ResolveBackbone(result.GetValue(backbone), result.GetValue(pretrain), spec, result.GetValue(device)!, TrainingConsole.Log);
            var study = new StudyRunner(plan, backbonePath, spec, outDir, result.GetValue(device)!, TrainingConsole.Log);
            if (result.GetValue(only) is { } ids)
            {
                var stageName = result.GetValue(stage);
                var shardSpec = result.GetValue(shard) is { } k ? ShardSpec.Parse(k) : null;
                if (shardSpec is not null && stageName != StageNames[StudyStage.AutoAttack])
                    throw new ArgumentException("--shard needs --stage autoattack");
                foreach (var run in StudyCommand.Select(plan, ids, null))
                {
                    if (stageName is null)
                        study.Run(run, TrainingConsole.Run, EvaluationConsole.Driver);
                    else
                        study.RunUnit(new StudyWorkUnit(run.Id, run, ParseStage(stageName), shardSpec, []), TrainingConsole.Run, EvaluationConsole.Driver);
                }
                return 0;
            }
            // A backbone that does not load, or a folder tuned with other settings, fails here in one line, before any
            // worker starts or anything is written (workers, above, are only started after these checks).
            using (ModelLoader.Load(new ModelRequest(backbonePath, null), TorchSharp.torch.CPU))
            {
            }
            study.RequireReusableTunings(plan.Runs);
            var worker = new List<string> { "demo", "--plan", plan.Name, "--out", outDir, "--backbone", Path.GetFullPath(backbonePath), "--jobs", "1",
                "--seed", result.GetValue(seed).ToString(CultureInfo.InvariantCulture), "--device", result.GetValue(device)! };
            if (result.GetValue(data) is { } dataDirectory)
                worker.AddRange(["--data", dataDirectory]);
            AnsiConsole.MarkupLine(Markup.Escape($"adapt demo ({plan.Name}): {string.Join(", ", plan.Runs.Select(r => r.Id))} prompt tuning on {spec}, eps {plan.Eps}; backbone {backbonePath}"));
            var (threads, ranElsewhere) = RunInParallel(study, outDir, result.GetValue(device)!, result.GetValue(jobs), worker);
            StudyResult demo;
            try
            {
                demo = study.RunAll(TrainingConsole.Run, EvaluationConsole.Driver, source, MachineDescription.Describe(threads), ranElsewhere) with
                {
                    TotalSeconds = clock.Elapsed.TotalSeconds,
                    CreatedUtc = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
                };
            }
            catch (OperationCanceledException)
            {
                throw new OperationCanceledException($"interrupted: finished work is kept in {outDir}; run the same command again to continue");
            }
            DemoReport.Write(outDir, demo);
            AnsiConsole.WriteLine();
            AnsiConsole.Write(new Markup(Markup.Escape(DemoReport.Table(demo))));
            foreach (var line in DemoReport.Reading(demo))
                AnsiConsole.MarkupLine(Markup.Escape("- " + line));
            AnsiConsole.MarkupLine(Markup.Escape($"wrote {Path.Combine(outDir, DemoReport.MarkdownFile)} (+ {DemoReport.JsonFile}, {DemoReport.PlotFile}) in {demo.TotalSeconds / 60:0.0} min"));
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Trains and evaluates the unfinished runs in child processes, <paramref name="jobs"/> at a time (on a CPU with more
    /// than one thread and more than one unit of work to do): each run's training, main evaluation and AutoAttack shards
    /// are separate units, so the evaluations of the longest run spread over the workers once its training is done.
    /// Returns how the threads were shared and which runs the workers did.
    /// </summary>
    private static (string? Threads, IReadOnlyCollection<string>? Runs) RunInParallel(StudyRunner study, string outDir, string device, int? jobs, IReadOnlyList<string> worker)
    {
        var threads = TorchSharp.torch.get_num_threads();
        var wanted = jobs ?? threads;
        var work = study.WorkUnits(autoAttackShards: wanted);
        var concurrency = Math.Min(wanted, work.Count);
        if (concurrency < 2 || TorchRuntime.ResolveDevice(device).type != TorchSharp.DeviceType.CPU)
            return (null, null);
        var threadsEach = Math.Max(1, threads / concurrency);
        var runs = work.Select(u => u.Run.Id).Distinct().ToList();
        AnsiConsole.MarkupLine(Markup.Escape($"{runs.Count} run(s) to do in {work.Count} units, {concurrency} at a time with {threadsEach} torch thread(s) each " +
                                             "(units: trainings, evaluations, AutoAttack shards; --jobs 1: one after another)"));
        var units = work.Select(u => new ParallelRuns.Unit(u.Id, [.. worker, .. UnitArguments(u)], u.DependsOn)).ToList();
        ParallelRuns.Run(units, concurrency, threadsEach, Path.Combine(outDir, "logs"), Interruption.Token);
        return ($"{threadsEach} per worker, {concurrency} workers at a time", runs);
    }

    private static IEnumerable<string> UnitArguments(StudyWorkUnit unit)
    {
        yield return "--runs";
        yield return unit.Run.Id;
        yield return "--stage";
        yield return StageNames[unit.Stage];
        if (unit.Shard is { } shard)
        {
            yield return "--shard";
            yield return shard.ToString();
        }
    }

    /// <summary>How a worker's --stage names each stage.</summary>
    private static readonly Dictionary<StudyStage, string> StageNames = new()
    {
        [StudyStage.Train] = "train",
        [StudyStage.Evaluate] = "eval",
        [StudyStage.AutoAttack] = "autoattack",
    };

    private static StudyStage ParseStage(string name) =>
        StageNames.FirstOrDefault(s => s.Value == name) is { Value: not null } found
            ? found.Key
            : throw new ArgumentException($"--stage: expected {string.Join(", ", StageNames.Values)}, got '{name}'");

    private static (string Path, string Source) ResolveBackbone(string? given, bool pretrain, Data.DatasetSpec data, string device, Action<string> log)
    {
        if (given is not null)
            return File.Exists(given) ? (given, "given with --backbone") : throw new FileNotFoundException($"backbone file not found: {given}");
        var shipped = Path.Combine(AppContext.BaseDirectory, ShippedBackbone);
        if (!pretrain && File.Exists(shipped))
        {
            using var reader = SafetensorsReader.Open(shipped);
            var command = reader.Metadata.GetValueOrDefault("command") is { Length: > 0 } c ? c : "adapt pretrain";
            return (shipped, $"shipped with AdaptSharp, made by `{command}`");
        }
        var cached = Path.Combine(UserCache.Directory, $"{ModelPresets.CpuPreset}.safetensors");
        if (File.Exists(cached))
            return (cached, "pretrained earlier by adapt demo --pretrain (cached)");
        log($"pretraining the backbone ({TrainingRecipe.PretrainFashionMnistCpu.Description}) -> {cached}");
        Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
        var job = TrainingConsole.Run(new TrainingJobSpec
        {
            ModelPreset = ModelPresets.CpuPreset,
            Data = data,
            Recipe = TrainingRecipe.PretrainFashionMnistCpu,
            OutputPath = cached,
            RunDirectory = cached + ".run",
            Device = device,
            CommandLine = $"adapt pretrain --model {ModelPresets.CpuPreset} --recipe {TrainingRecipe.PretrainFashionMnistCpu.Name} --data {data} --out {cached}",
        });
        if (job.OutputPath is null)
            throw new OperationCanceledException("pretraining interrupted");
        return (cached, "pretrained here by adapt demo (cached)");
    }
}
