using AdaptSharp.IO;
using AdaptSharp.Attacks;
using TorchSharp;
using System.Globalization;
using System.Text.Json;
using AdaptSharp.Checkpoints;
using AdaptSharp.Data;
using AdaptSharp.Models;
using AdaptSharp.Runtime;
using static TorchSharp.torch;
using DataLoader = AdaptSharp.Data.DataLoader;

namespace AdaptSharp.Training;

/// <summary>
/// Runs a <see cref="TrainingJobSpec"/> end to end: builds the model (backbone file or preset), reads the data,
/// trains with <see cref="Trainer"/>, writes config.json, metrics.jsonl and checkpoints to the run folder, and the
/// result: a prompt file for prompt tuning and linear probing, a backbone file for full fine-tuning (plus, when the
/// model has prompts, a prompt file tied to that new backbone).
/// </summary>
public static class TrainingJob
{
    public const string ConfigFileName = "config.json";

    public static TrainingJobResult Run(TrainingJobSpec spec, IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellation = default, Action<string>? log = null)
    {
        log ??= _ => { };
        var recipe = spec.Recipe;
        var trainable = TrainableSets.Parse(recipe.Trainable);
        var linear = trainable == TrainableSet.Head;
        var promptSpec = linear ? "none" : recipe.Prompts;
        if (linear && recipe.Prompts != "none")
            log("linear probing: no prompts");
        var fromPromptFile = ModelLoader.IsPromptFile(promptSpec);
        if (!fromPromptFile)
            PromptConfig.Parse(promptSpec);
        var fullTraining = trainable.HasFlag(TrainableSet.Backbone);
        if (spec.BackbonePath is null && !fullTraining)
            throw new ArgumentException("prompt tuning and linear probing need a pretrained --backbone (train one with 'adapt pretrain')");
        IO.OutputGuard.RefuseInputs(spec.OutputPath, "--out",
            [("--backbone", spec.BackbonePath), ("--prompts", fromPromptFile ? promptSpec : null)]);
        var device = TorchRuntime.ResolveDevice(spec.Device);
        var runDirectory = spec.ResolvedRunDirectory;
        IO.OutputGuard.RefuseInputs(runDirectory, "--run-dir", [("--backbone", spec.BackbonePath), ("--out", spec.OutputPath)]);
        var checkpointPath = Path.Combine(runDirectory, Trainer.CheckpointFileName);
        if (spec.Resume && !File.Exists(checkpointPath))
            throw new ArgumentException($"--resume: no checkpoint at {checkpointPath}");
        if (!spec.Resume && File.Exists(checkpointPath))
            throw new ArgumentException($"{runDirectory} already holds a checkpoint: pass --resume to continue it, or choose another --run-dir");

        log($"reading {spec.Data} (train)");
        using var train = DatasetLoader.Load(spec.Data, DatasetSplit.Train, spec.TrainLimit);
        using var loaded = BuildModel(spec, promptSpec, train.NumClasses, device, log);
        var model = loaded.Model;
        var config = model.Config;
        var attack = recipe.Attack ?? InnerAttackOptions.ForDataset(spec.Data.Name);
        var objective = new TrainingObjective(recipe.Method, attack, recipe.Lambda, spec.AttackSource);

        if (train.Height != config.ImageSize || train.Width != config.ImageSize)
            log($"note: {spec.Data} images are {train.Height}x{train.Width}; resized to the model's {config.ImageSize}x{config.ImageSize} input");
        var transform = TransformPipeline.ForModel(config.ImageSize, config.InChannels);
        if (recipe.Augment)
            transform = transform.WithDefaultAugmentation(spec.Data, train.Height);
        var loader = new DataLoader(train, new DataLoaderOptions
        {
            BatchSize = recipe.BatchSize,
            ShuffleSeed = spec.Seed,
            AugmentationSeed = spec.Seed + 1,
            Prefetch = spec.Prefetch,
            Transform = transform,
        });

        (Tensor Images, Tensor Labels)? evaluation = null;
        if (recipe.EvalPoints > 0)
        {
            log($"reading {spec.Data} (first {recipe.EvalPoints} test points for per-epoch evaluation)");
            evaluation = DatasetLoader.LoadEvaluationSet(spec.Data, recipe.EvalPoints, config.ImageSize, config.InChannels);
        }
        using var evaluationImages = evaluation?.Images;
        using var evaluationLabels = evaluation?.Labels;

        var options = new TrainerOptions
        {
            Epochs = recipe.Epochs,
            Trainable = trainable,
            Optimizer = recipe.Optimizer,
            Schedule = LearningRateSchedule.Parse(recipe.Schedule, recipe.LearningRate),
            GradientClipNorm = recipe.GradientClipNorm,
            Seed = spec.Seed,
            EvaluationAttack = EvaluationAttackFor(attack),
            EvaluatePromptAgnostic = spec.EvaluatePromptAgnostic,
            CheckpointEvery = recipe.CheckpointEvery,
            RunDirectory = runDirectory,
        };
        using var trainer = new Trainer(model, objective, loader, options, evaluation);
        var configPath = Path.Combine(runDirectory, ConfigFileName);
        var runConfig = RunConfig.Create(spec, objective, options, config, model.PromptConfig, loaded.BackboneFingerprint, trainer.TotalSteps);
        if (spec.Resume)
        {
            RunConfig.RequireSame(configPath, runConfig);
            using (var checkpoint = TrainingCheckpoint.Load(checkpointPath))
            {
                trainer.Resume(checkpoint);
                if (checkpoint.Metadata.TryGetValue(TrainingCheckpoint.ThreadsKey, out var saved) && saved != get_num_threads().ToString(CultureInfo.InvariantCulture))
                    log($"note: the run was checkpointed with {saved} intra-op thread(s) and resumes with {get_num_threads()}: the result equals an uninterrupted run up to float rounding, not bit for bit (set ADAPT_THREADS={saved} for that)");
            }
            log($"resuming at epoch {trainer.EpochsCompleted + 1}, step {trainer.Step} of {trainer.TotalSteps}");
        }
        Directory.CreateDirectory(runDirectory);
        AtomicFile.WriteAllText(configPath, runConfig.ToJsonString(RunConfig.JsonOptions) + "\n");
        var counts = model.CountParameters();
        log(string.Create(CultureInfo.InvariantCulture,
            $"{objective.Describe()}; trainable {TrainableSets.Format(trainable)}: {counts.Trainable:N0} of {counts.Total:N0} parameters ({counts.TrainablePercent:0.###}%)"));

        var result = trainer.Run(progress, cancellation);
        if (result.Interrupted)
            return new TrainingJobResult(null, null, runDirectory, result, counts, loaded.BackboneFingerprint);

        var method = objective.Describe();
        var threat = string.Create(CultureInfo.InvariantCulture, $"linf eps={attack.Epsilon:G6} pgd-{attack.Steps} step={attack.StepSize:G6}");
        var seed = spec.Seed.ToString(CultureInfo.InvariantCulture);
        var prompts = new PromptFileInfo
        {
            BackboneFingerprint = loaded.BackboneFingerprint!,
            Trainable = trainable,
            Method = method,
            ThreatModel = threat,
            Extra = new Dictionary<string, string> { ["dataset"] = spec.Data.ToString(), ["seed"] = seed },
        };
        if (!fullTraining)
        {
            PromptFile.Save(spec.OutputPath, model, prompts);
            return new TrainingJobResult(spec.OutputPath, null, runDirectory, result, counts, loaded.BackboneFingerprint);
        }
        // A backbone file, plus the prompts (tied to that new backbone) when the model has any.
        var fingerprint = BackboneFile.Save(spec.OutputPath, model, new Dictionary<string, string>
        {
            ["method"] = method,
            ["threat_model"] = threat,
            ["dataset"] = spec.Data.ToString(),
            ["seed"] = seed,
            ["train_limit"] = spec.TrainLimit?.ToString(CultureInfo.InvariantCulture) ?? "all",
            ["recipe"] = JsonSerializer.Serialize(recipe),
            ["command"] = spec.CommandLine ?? "",
        });
        var extraPrompts = model.HasPrompts ? Path.ChangeExtension(spec.OutputPath, null) + ".prompts.safetensors" : null;
        if (extraPrompts is not null)
            PromptFile.Save(extraPrompts, model, prompts with { BackboneFingerprint = fingerprint, Trainable = TrainableSet.Prompts, Extra = new Dictionary<string, string>() });
        return new TrainingJobResult(spec.OutputPath, extraPrompts, runDirectory, result, counts, loaded.BackboneFingerprint);
    }

    private static LoadedModel BuildModel(TrainingJobSpec spec, string prompts, int classes, Device device, Action<string> log)
    {
        var preset = spec.ModelPreset ?? (spec.BackbonePath is null ? ModelPresets.CpuPreset : null);
        var loaded = ModelLoader.Load(new ModelRequest(spec.BackbonePath, preset, spec.Recipe.ImageSize, classes, prompts, Seed: spec.Seed)
        {
            Use = ModelUse.Training,
        }, device);
        log(loaded.BackboneFingerprint is null
            ? $"{loaded.Source} ({loaded.Model.Config.Name}, seed {spec.Seed})"
            : $"{loaded.Source} ({loaded.Model.Config.Name}, fingerprint {BackboneFingerprint.Short(loaded.BackboneFingerprint)})");
        foreach (var line in loaded.Notes)
            log($"  {line}");
        return loaded;
    }

    /// <summary>
    /// The per-epoch check's attack: PGD-10 with step eps/4 and a random start (docs/evaluation.md's PGD-10), whatever the
    /// training's inner attack is; a check with the training attack's few large steps would read several points high.
    /// </summary>
    internal static InnerAttackOptions EvaluationAttackFor(InnerAttackOptions training) => new(training.Epsilon, training.Epsilon / 4, Steps: 10);
}
