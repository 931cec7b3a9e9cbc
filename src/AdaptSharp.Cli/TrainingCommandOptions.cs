using System.CommandLine;
using AdaptSharp.Attacks;
using AdaptSharp.Data;
using AdaptSharp.IO;
using AdaptSharp.Training;

namespace AdaptSharp.Cli;

/// <summary>The recipe-overriding options shared by 'adapt tune' and 'adapt pretrain'.</summary>
internal sealed class TrainingCommandOptions
{
    public Option<string?> Recipe { get; } = new("--recipe") { Description = $"Named defaults ({string.Join(", ", TrainingRecipe.Names)})" };
    public Option<string?> Data { get; } = new("--data") { Description = "Dataset: fashion-mnist[:DIR], mnist:DIR, cifar10:DIR, cifar100:DIR, imagefolder:DIR" };
    public Option<string?> Out { get; } = new("--out") { Description = "Output file (prompt file, or backbone file for full training)" };
    public Option<string?> RunDir { get; } = new("--run-dir") { Description = "Run folder for metrics.jsonl, config.json and checkpoints (default: <out>.run next to the output)" };
    public Option<bool> Resume { get; } = new("--resume") { Description = "Continue the run folder's checkpoint exactly (optimizer state and position included)" };
    public Option<int?> Epochs { get; } = new Option<int?>("--epochs") { Description = "Training epochs" }.Between(1, 100_000);
    public Option<int?> BatchSize { get; } = new Option<int?>("--batch-size") { Description = "Batch size" }.Between(1, 1 << 20);
    public Option<double?> LearningRate { get; } = new Option<double?>("--lr") { Description = "Peak learning rate" }.Where(v => v > 0, "> 0");
    public Option<string?> Schedule { get; } = new("--schedule") { Description = "onecycle[:PEAK] | cosine[:WARMUP] | drops[:F1,F2] | constant" };
    public Option<string?> Optimizer { get; } = new("--optimizer") { Description = "sgd | adamw" };
    public Option<double?> WeightDecay { get; } = new Option<double?>("--weight-decay") { Description = "Weight decay" }.Where(v => v >= 0, ">= 0");
    public Option<double?> Momentum { get; } = new Option<double?>("--momentum") { Description = "SGD momentum, in [0, 1)" }.Where(v => v is >= 0 and < 1, "in [0, 1)");
    public Option<double?> Clip { get; } = new Option<double?>("--clip") { Description = "Global gradient-norm clip over all trainables incl. prompts (0 = off)" }.Where(v => v >= 0, ">= 0 (0 = off)");
    public Option<string?> Eps { get; } = new("--eps") { Description = "Inner-attack L-inf radius in pixel units, e.g. 8/255 or 0.1 (default per dataset)" };
    public Option<string?> Step { get; } = new("--step") { Description = "Inner PGD step (default eps/4: 2/255 at 8/255, 0.025 at 0.1)" };
    public Option<int?> Steps { get; } = new Option<int?>("--steps") { Description = "Inner PGD steps (default 10)" }.Between(1, 10_000);
    public Option<bool> NoRandomStart { get; } = new("--no-random-start") { Description = "Start the inner PGD at the clean point" };
    public Option<int?> ImageSize { get; } = new Option<int?>("--img-size") { Description = "Model input size (default: the recipe's, else the backbone's)" }.Between(1, 4096);
    public Option<bool> NoAugment { get; } = new("--no-augment") { Description = "No random crop / flip" };
    public Option<int?> EvalPoints { get; } = new Option<int?>("--eval-points") { Description = "Test points evaluated (clean + adaptive PGD) after each epoch (0 = none)" }.Between(0);
    public Option<bool> EvalAgnostic { get; } = new("--eval-agnostic") { Description = "Also evaluate prompt-agnostic PGD each epoch" };
    public Option<int?> CheckpointEvery { get; } = new Option<int?>("--checkpoint-every") { Description = "Checkpoint every N epochs (0 = at the end only)" }.Between(0);
    public Option<int?> Limit { get; } = new Option<int?>("--limit") { Description = "Use only the first N training images" }.Between(1);
    public Option<bool> Force { get; } = CommonOptions.Force();
    public Option<long> Seed { get; } = CommonOptions.Seed();
    public Option<string> Device { get; } = CommonOptions.Device();

    public Option[] All =>
    [
        Recipe, Data, Out, RunDir, Resume, Epochs, BatchSize, LearningRate, Schedule, Optimizer, WeightDecay, Momentum, Clip,
        Eps, Step, Steps, NoRandomStart, ImageSize, NoAugment, EvalPoints, EvalAgnostic, CheckpointEvery, Limit, Force, Seed, Device,
    ];

    /// <summary>The recipe with every given option applied.</summary>
    public TrainingRecipe Apply(ParseResult result, TrainingRecipe recipe, string datasetName)
    {
        var r = recipe;
        // The options' validators have range-checked every value.
        if (result.GetValue(Epochs) is int epochs) r = r with { Epochs = epochs };
        if (result.GetValue(BatchSize) is int batch) r = r with { BatchSize = batch };
        if (result.GetValue(LearningRate) is double lr) r = r with { LearningRate = lr };
        if (result.GetValue(Schedule) is string schedule)
        {
            LearningRateSchedule.Parse(schedule, 1.0);
            r = r with { Schedule = schedule };
        }
        var optimizer = r.Optimizer;
        if (result.GetValue(Optimizer) is string kind)
        {
            var parsed = OptimizerOptions.ParseKind(kind);
            if (parsed != optimizer.Kind)
                optimizer = parsed == OptimizerKind.AdamW ? OptimizerOptions.AdamW() : OptimizerOptions.Sgd();
        }
        if (result.GetValue(WeightDecay) is double wd) optimizer = optimizer with { WeightDecay = wd };
        if (result.GetValue(Momentum) is double momentum) optimizer = optimizer with { Momentum = momentum };
        r = r with { Optimizer = optimizer };
        if (result.GetValue(Clip) is double clip) r = r with { GradientClipNorm = clip > 0 ? clip : null }; // 0 = off

        var attack = r.Attack ?? InnerAttackOptions.ForDataset(datasetName);
        if (result.GetValue(Eps) is string eps) attack = attack.WithEpsilon(ThreatModel.ParseEps(eps));
        if (result.GetValue(Step) is string step) attack = attack with { StepSize = ThreatModel.ParseEps(step) };
        if (result.GetValue(Steps) is int steps) attack = attack with { Steps = steps };
        if (result.GetValue(NoRandomStart)) attack = attack with { RandomStart = false };
        attack.Validate();
        r = r with { Attack = attack };

        if (result.GetValue(ImageSize) is int size) r = r with { ImageSize = size };
        if (result.GetValue(NoAugment)) r = r with { Augment = false };
        if (result.GetValue(EvalPoints) is int points) r = r with { EvalPoints = points };
        if (result.GetValue(CheckpointEvery) is int every) r = r with { CheckpointEvery = every };
        return r;
    }

    /// <summary>The --out file, checked against <paramref name="inputs"/> and overwritten only with --force or --resume.</summary>
    public string Output(ParseResult result, string example, IEnumerable<(string Flag, string? Path)> inputs)
    {
        var output = result.GetValue(Out) ?? throw new ArgumentException($"name the output with --out FILE (e.g. {example})");
        OutputGuard.CheckFile(output, "--out", inputs, overwrite: result.GetValue(Force) || result.GetValue(Resume));
        return output;
    }

    /// <summary>The job that trains <paramref name="recipe"/> on <paramref name="data"/> into <paramref name="output"/>, with the run options given.</summary>
    public TrainingJobSpec Job(ParseResult result, DatasetSpec data, TrainingRecipe recipe, string output) => new()
    {
        Data = data,
        Recipe = recipe,
        OutputPath = output,
        RunDirectory = result.GetValue(RunDir),
        Resume = result.GetValue(Resume),
        Device = result.GetValue(Device)!,
        Seed = result.GetValue(Seed),
        TrainLimit = result.GetValue(Limit),
    };
}
