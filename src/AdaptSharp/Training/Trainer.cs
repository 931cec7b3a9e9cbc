using System.Diagnostics;
using System.Globalization;
using AdaptSharp.Data;
using AdaptSharp.Models;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using DataLoader = AdaptSharp.Data.DataLoader;
using static TorchSharp.torch;

namespace AdaptSharp.Training;

/// <summary>
/// Trains a <see cref="VisionTransformer"/>'s trainable set with a <see cref="TrainingObjective"/>: one optimizer
/// step per batch with the schedule's rate for that step, global gradient clipping over all trainables,
/// per-epoch evaluation (clean and adaptive PGD on a held-out set), metrics.jsonl and atomic checkpoints in the
/// run folder. Every random choice is a function of (seed, step) or of the data loader's seeds, so a run is
/// reproducible and a resumed run continues bit for bit. UI-free: progress goes to an <see cref="IProgress{T}"/>.
/// </summary>
public sealed class Trainer : IDisposable
{
    public const string CheckpointFileName = "checkpoint.safetensors";
    public const string MetricsFileName = "metrics.jsonl";
    private const string AccumulatorKey = "epoch_accumulator";

    private readonly DataLoader data;
    private readonly (Tensor Images, Tensor Labels)? evaluation;
    private readonly List<EpochMetrics> history = new();
    private EpochAccumulator accumulator = new();
    private int batchInEpoch;

    public Trainer(VisionTransformer model, TrainingObjective objective, DataLoader data, TrainerOptions options,
        (Tensor Images, Tensor Labels)? evaluation = null)
    {
        options.Validate();
        objective.Validate();
        if (data.BatchesPerEpoch < 1)
            throw new ArgumentException("the training data has no batches");
        Model = model;
        Objective = objective;
        this.data = data;
        Options = options;
        this.evaluation = evaluation;
        model.SetTrainable(options.Trainable);
        Parameters = model.TrainableParameters().ToList();
        Optimizer = new ParameterOptimizer(Parameters, options.Optimizer);
    }

    public VisionTransformer Model { get; }

    public TrainingObjective Objective { get; }

    public TrainerOptions Options { get; }

    public ParameterOptimizer Optimizer { get; }

    public IReadOnlyList<(string Name, Parameter Parameter)> Parameters { get; }

    /// <summary>Epochs fully done.</summary>
    public int EpochsCompleted { get; private set; }

    /// <summary>Optimizer steps done.</summary>
    public long Step { get; private set; }

    public long TotalSteps => (long)Options.Epochs * data.BatchesPerEpoch;

    public string? CheckpointPath => Options.RunDirectory is null ? null : Path.Combine(Options.RunDirectory, CheckpointFileName);

    public string? MetricsPath => Options.RunDirectory is null ? null : Path.Combine(Options.RunDirectory, MetricsFileName);

    /// <summary>
    /// Trains up to <see cref="TrainerOptions.Epochs"/> (or until <paramref name="stopAfterEpoch"/> epochs are done,
    /// checkpointing there). On cancellation it saves a resumable checkpoint at the current batch and returns.
    /// </summary>
    public TrainingResult Run(IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default,
        int? stopAfterEpoch = null)
    {
        if (Options.RunDirectory is not null)
            Directory.CreateDirectory(Options.RunDirectory);
        WriteMetrics();
        for (var epoch = EpochsCompleted; epoch < Options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            var secondsBefore = accumulator.Seconds;
            foreach (var batch in data.Epoch(epoch, batchInEpoch))
            {
                using (batch)
                {
                    if (cancellation.IsCancellationRequested)
                        return Interrupt(progress);
                    TrainStep(batch.Images, batch.Labels);
                }
                batchInEpoch++;
                accumulator = accumulator with { Seconds = secondsBefore + clock.Elapsed.TotalSeconds };
                progress?.Report(Report(TrainingPhase.Training, epoch + 1));
            }
            if (cancellation.IsCancellationRequested && epoch + 1 < Options.Epochs)
                return Interrupt(progress);

            progress?.Report(Report(TrainingPhase.Evaluating, epoch + 1));
            var metrics = FinishEpoch(epoch + 1);
            history.Add(metrics);
            WriteMetrics();
            EpochsCompleted = epoch + 1;
            batchInEpoch = 0;
            accumulator = new EpochAccumulator();

            var last = EpochsCompleted == Options.Epochs;
            var stopping = stopAfterEpoch is int stop && EpochsCompleted >= stop && !last;
            if (CheckpointPath is not null && (last || stopping || (Options.CheckpointEvery > 0 && EpochsCompleted % Options.CheckpointEvery == 0)))
            {
                progress?.Report(Report(TrainingPhase.Checkpointing, EpochsCompleted, metrics));
                SaveCheckpoint(CheckpointPath);
            }
            progress?.Report(Report(last ? TrainingPhase.Finished : TrainingPhase.Training, EpochsCompleted, metrics));
            if (stopping)
                break;
        }
        return new TrainingResult(EpochsCompleted, Step, false, history, CheckpointPath);
    }

    private TrainingResult Interrupt(IProgress<TrainingProgress>? progress)
    {
        if (CheckpointPath is not null)
            SaveCheckpoint(CheckpointPath);
        progress?.Report(Report(TrainingPhase.Interrupted, EpochsCompleted + 1));
        return new TrainingResult(EpochsCompleted, Step, true, history, CheckpointPath);
    }

    /// <summary>One optimizer step on a batch; returns the loss.</summary>
    public double TrainStep(Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var device = Parameters[0].Parameter.device;
        var x = images.device == device ? images : images.to(device);
        var y = labels.device == device ? labels : labels.to(device);
        var lr = Options.Schedule.At(Step, TotalSteps);

        // the inner attack's seed is a pure function of the run seed and the step
        using var output = Objective.Compute(Model, x, y, unchecked((long)DeterministicRandom.Derive(Options.Seed, 1, Step)));
        Optimizer.ZeroGrad();
        output.Loss.backward();
        var loss = output.Loss.ToDouble();
        // The global norm before clipping; without a clip norm the gradients are scaled by exactly 1.
        var norm = nn.utils.clip_grad_norm_(Parameters.Select(p => p.Parameter), Options.GradientClipNorm ?? double.PositiveInfinity);
        if (!double.IsFinite(loss) || !double.IsFinite(norm))
            throw Diverged(!double.IsFinite(loss) ? $"the loss is {loss}" : $"the gradient norm is {norm}", lr);
        Optimizer.Step(lr);
        if (Parameters.FirstOrDefault(p => !p.Parameter.isfinite().all().item<bool>()).Name is string bad)
            throw Diverged($"parameter '{bad}' became non-finite after the step", lr);
        Step++;

        accumulator = accumulator.Add(loss, norm, lr, y, output.CleanLogits, output.AdversarialLogits);
        return loss;
    }

    private TrainingDivergedException Diverged(string what, double lr)
    {
        var kept = CheckpointPath is not null && File.Exists(CheckpointPath)
            ? $"the last good checkpoint {CheckpointPath} is kept"
            : "no checkpoint had been saved yet";
        return new TrainingDivergedException(string.Create(CultureInfo.InvariantCulture,
            $"training diverged at epoch {EpochsCompleted + 1}, batch {batchInEpoch + 1} (step {Step + 1}, lr {lr:G3}): {what}; {kept} and no output was written (lower --lr or set --clip)"));
    }

    /// <summary>The epoch's training means and, when there is a held-out set, its check (<see cref="HeldOutEvaluation"/>).</summary>
    private EpochMetrics FinishEpoch(int epoch)
    {
        var metrics = accumulator.ToMetrics(epoch, Step);
        return evaluation is { } heldOut ? HeldOutEvaluation.Measure(Model, Options, heldOut.Images, heldOut.Labels, metrics) : metrics;
    }

    private TrainingProgress Report(TrainingPhase phase, int epoch, EpochMetrics? last = null)
    {
        // The rate of the last step: the accumulator's and the finished epoch's last rate are that one too.
        var running = accumulator.Images > 0 ? accumulator.ToMetrics(epoch, Step)
            : last ?? new EpochMetrics { TrainLoss = double.NaN, LearningRate = Options.Schedule.At(Math.Max(0, Step - 1), TotalSteps) };
        return new(phase, epoch, Options.Epochs, batchInEpoch, data.BatchesPerEpoch, Step, running, last ?? history.LastOrDefault());
    }

    /// <summary>Saves the current state (trainable parameters, optimizer state, progress) to <paramref name="path"/>.</summary>
    private void SaveCheckpoint(string path)
    {
        var inv = CultureInfo.InvariantCulture;
        var metadata = new Dictionary<string, string>
        {
            [TrainingCheckpoint.EpochKey] = EpochsCompleted.ToString(inv),
            [TrainingCheckpoint.BatchKey] = batchInEpoch.ToString(inv),
            [TrainingCheckpoint.StepKey] = Step.ToString(inv),
            [TrainingCheckpoint.SeedKey] = Options.Seed.ToString(inv),
            [TrainingCheckpoint.OptimizerStepsKey] = Optimizer.StepCount.ToString(inv),
            [TrainingCheckpoint.ThreadsKey] = get_num_threads().ToString(inv),
            [AccumulatorKey] = accumulator.ToJson(),
            ["epochs"] = Options.Epochs.ToString(inv),
            ["objective"] = Objective.Describe(),
            ["optimizer"] = Options.Optimizer.Kind.ToString().ToLowerInvariant(),
            ["schedule"] = Options.Schedule.ToString(),
            ["trainable"] = TrainableSets.Format(Options.Trainable),
            ["model_config"] = Model.Config.ToJson(),
            ["prompts"] = Model.PromptConfig.ToString(),
        };
        using var checkpoint = TrainingCheckpoint.Capture(Parameters, Optimizer, metadata);
        checkpoint.Save(path);
    }

    /// <summary>
    /// Continues from a checkpoint of the same run: restores the trainable parameters, the optimizer state,
    /// the step, the epoch (and position inside it) and the epoch's running sums; keeps metrics lines up to
    /// the checkpoint's epoch.
    /// </summary>
    public void Resume(TrainingCheckpoint checkpoint)
    {
        if (checkpoint.Seed != Options.Seed)
            throw new ArgumentException($"the checkpoint was made with seed {checkpoint.Seed}, this run uses {Options.Seed}: resuming would not continue the same run");
        if (checkpoint.Epoch > Options.Epochs)
            throw new ArgumentException($"the checkpoint has {checkpoint.Epoch} epochs done, more than the {Options.Epochs} asked for");
        checkpoint.Restore(Parameters, Optimizer);
        Step = checkpoint.Step;
        EpochsCompleted = checkpoint.Epoch;
        batchInEpoch = checkpoint.Batch;
        accumulator = checkpoint.Metadata.TryGetValue(AccumulatorKey, out var json) ? EpochAccumulator.FromJson(json) : new EpochAccumulator();
        history.Clear();
        if (MetricsPath is not null && File.Exists(MetricsPath))
            history.AddRange(EpochMetrics.ReadFile(MetricsPath).Where(m => m.Epoch <= EpochsCompleted));
    }

    public void Resume(string checkpointPath)
    {
        using var checkpoint = TrainingCheckpoint.Load(checkpointPath);
        Resume(checkpoint);
    }

    private void WriteMetrics()
    {
        if (MetricsPath is not null)
            EpochMetrics.WriteFile(MetricsPath, history);
    }

    public void Dispose() => Optimizer.Dispose();
}
