using AdaptSharp.Models;
using AdaptSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Training;

public sealed class TrainerTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "adapt-trainer-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
    }

    private static Dictionary<string, Tensor> Snapshot(VisionTransformer model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    private static TrainerOptions Options(string trainable, int epochs = 1, string? run = null, OptimizerOptions? optimizer = null) => new()
    {
        Epochs = epochs,
        Seed = 3,
        Trainable = TrainableSets.Parse(trainable),
        Optimizer = optimizer ?? OptimizerOptions.Sgd(0.9, 1e-4),
        Schedule = LearningRateSchedule.OneCycle(0.05),
        EvaluationAttack = new InnerAttackOptions(0.1, 0.03, 2),
        RunDirectory = run,
    };

    [Theory]
    [InlineData("deep:2", "head,patch", new[] { "prompt_tokens", "head.", "patch_embed." })]
    [InlineData("shallow:3", "prompts", new[] { "prompt_tokens" })]
    [InlineData("none", "linear", new[] { "head." })]
    [InlineData("deep:2", "linear", new[] { "head." })]
    public void OnlyTheTrainableSetChanges(string prompts, string trainable, string[] changing)
    {
        using var scope = NewDisposeScope();
        using var data = SyntheticQuadrants.Create(32, seed: 1);
        using var model = TrainingFixtures.TinyModel(prompts);
        var before = Snapshot(model);
        var objective = TrainingFixtures.Options(ObjectiveKind.AdaptCe);
        using var trainer = new Trainer(model, objective, SyntheticQuadrants.Loader(data, 16), Options(trainable));
        trainer.Run();
        foreach (var (name, p) in model.named_parameters())
        {
            var same = p.equal(before[name]).all().item<bool>();
            var shouldChange = changing.Any(c => name.StartsWith(c, StringComparison.Ordinal));
            Assert.True(shouldChange != same, $"{name}: {(shouldChange ? "should have changed" : "must stay bit-identical")}");
        }
    }

    [Fact]
    public void FullFineTuningChangesEveryParameter()
    {
        using var scope = NewDisposeScope();
        using var data = SyntheticQuadrants.Create(32, seed: 1);
        using var model = TrainingFixtures.TinyModel("none");
        var before = Snapshot(model);
        var objective = TrainingFixtures.Options(ObjectiveKind.At);
        using var trainer = new Trainer(model, objective, SyntheticQuadrants.Loader(data, 16), Options("full"));
        trainer.Run();
        Assert.All(model.named_parameters(), p => Assert.False(p.parameter.equal(before[p.name]).all().item<bool>(), p.name));
    }

    [Fact]
    public void ClippingBoundsTheUpdateOfAllTrainablesIncludingPrompts()
    {
        using var scope = NewDisposeScope();
        using var data = SyntheticQuadrants.Create(16, seed: 1);
        using var model = TrainingFixtures.TinyModel("deep:2");
        var before = Snapshot(model);
        const double lr = 0.5, clip = 1e-3;
        var options = Options("head,patch") with
        {
            Optimizer = OptimizerOptions.Sgd(0.0, 0.0),
            Schedule = LearningRateSchedule.Constant(lr),
            GradientClipNorm = clip,
        };
        using var trainer = new Trainer(model, TrainingFixtures.Options(ObjectiveKind.Natural), SyntheticQuadrants.Loader(data, 16), options);
        var batch = SyntheticQuadrants.Tensors(data);
        trainer.TrainStep(batch.Images, batch.Labels);
        // Plain SGD: the update is -lr * clipped gradient, so its global norm is lr * min(norm, clip).
        var squared = trainer.Parameters.Sum(p => (p.Parameter - before[p.Name]).square().sum().ToDouble());
        Assert.Equal(lr * clip, Math.Sqrt(squared), 6);
        Assert.False(model.PromptTokens!.equal(before["prompt_tokens"]).all().item<bool>(), "the prompts are clipped and updated too");
    }

    private static VisionTransformer Train(string? run, int epochs, TrainingCheckpoint? resumeFrom = null, string? resumePath = null,
        Func<long, bool>? cancelAtStep = null, OptimizerOptions? optimizer = null, int? stopAfterEpoch = null,
        string trainable = "head,patch", ObjectiveKind method = ObjectiveKind.AdaptKl, double? clip = 1.0, bool cancelBeforeStart = false)
    {
        using var data = SyntheticQuadrants.Create(48, seed: 1);
        using var eval = SyntheticQuadrants.Create(8, seed: 2);
        var model = TrainingFixtures.TinyModel(trainable == "full" ? "none" : "deep:2");
        var objective = TrainingFixtures.Options(method);
        using var trainer = new Trainer(model, objective, SyntheticQuadrants.Loader(data, 16, augment: true),
            Options(trainable, epochs, run, optimizer) with { GradientClipNorm = clip }, SyntheticQuadrants.Tensors(eval));
        if (resumeFrom is not null) trainer.Resume(resumeFrom);
        if (resumePath is not null) trainer.Resume(resumePath);
        using var cts = new CancellationTokenSource();
        if (cancelBeforeStart) cts.Cancel();
        var progress = new SynchronousProgress(p =>
        {
            if (cancelAtStep is not null && p.Phase == TrainingPhase.Training && cancelAtStep(p.Step)) cts.Cancel();
        });
        trainer.Run(progress, cts.Token, stopAfterEpoch);
        return model;
    }

    private static OptimizerOptions Optimizer(OptimizerKind kind, double adamLearningRate) =>
        kind == OptimizerKind.Sgd ? OptimizerOptions.Sgd() : OptimizerOptions.AdamW(adamLearningRate);

    private static void AssertBitIdentical(VisionTransformer a, VisionTransformer b)
    {
        var pb = b.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in a.named_parameters())
            Assert.True(p.equal(pb[name]).all().item<bool>(), $"{name} differs");
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.AdamW)]
    public void TwoEpochsEqualOneEpochPlusResumeBitForBit(OptimizerKind kind)
    {
        var optimizer = Optimizer(kind, 0.01);
        using var straight = Train(null, 2, optimizer: optimizer);
        var run = Path.Combine(folder, "resume");
        using (Train(run, 2, optimizer: optimizer, stopAfterEpoch: 1)) { }
        var checkpoint = Path.Combine(run, Trainer.CheckpointFileName);
        Assert.True(File.Exists(checkpoint));
        using var resumed = Train(run, 2, resumePath: checkpoint, optimizer: optimizer);
        AssertBitIdentical(straight, resumed);
        var metrics = EpochMetrics.ReadFile(Path.Combine(run, Trainer.MetricsFileName));
        Assert.Equal(new[] { 1, 2 }, metrics.Select(m => m.Epoch));
        Assert.All(metrics, m => Assert.NotNull(m.EvalAdversarialAccuracy));
    }

    [Fact]
    public void InterruptedMidEpochSavesAResumableCheckpoint()
    {
        using var straight = Train(null, 2);
        var run = Path.Combine(folder, "interrupt");
        using (Train(run, 2, cancelAtStep: step => step == 4)) { }
        using var checkpoint = TrainingCheckpoint.Load(Path.Combine(run, Trainer.CheckpointFileName));
        Assert.Equal(4, checkpoint.Step);
        Assert.Equal(1, checkpoint.Epoch);
        Assert.Equal(1, checkpoint.Batch);
        Assert.Contains(checkpoint.Tensors.Keys, k => k.StartsWith("optim.prompt_tokens.", StringComparison.Ordinal));
        using var resumed = Train(run, 2, resumeFrom: checkpoint);
        AssertBitIdentical(straight, resumed);
    }

    [Theory]
    [InlineData(OptimizerKind.AdamW, "head,patch", 4)]
    [InlineData(OptimizerKind.AdamW, "full", 4)]
    [InlineData(OptimizerKind.AdamW, "full", 1)]
    public void InterruptedMidEpochResumesBitForBit(OptimizerKind kind, string trainable, long cancelStep)
    {
        var optimizer = Optimizer(kind, 0.05);
        var method = trainable == "full" ? ObjectiveKind.Natural : ObjectiveKind.AdaptKl;
        using var straight = Train(null, 2, optimizer: optimizer, trainable: trainable, method: method, clip: 1.0);
        var run = Path.Combine(folder, $"mid-{kind}-{trainable}-{cancelStep}");
        using (Train(run, 2, cancelAtStep: step => step == cancelStep, optimizer: optimizer, trainable: trainable, method: method, clip: 1.0)) { }
        using var resumed = Train(run, 2, resumePath: Path.Combine(run, Trainer.CheckpointFileName), optimizer: optimizer, trainable: trainable, method: method, clip: 1.0);
        AssertBitIdentical(straight, resumed);
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.AdamW)]
    public void InterruptedBeforeTheFirstStepResumesBitForBit(OptimizerKind kind)
    {
        // A signal right after start: the checkpoint holds step 0 and no optimizer state yet.
        var optimizer = Optimizer(kind, 0.05);
        using var straight = Train(null, 1, optimizer: optimizer);
        var run = Path.Combine(folder, $"first-{kind}");
        using (Train(run, 1, cancelAtStep: _ => true, optimizer: optimizer, cancelBeforeStart: true)) { }
        using (var checkpoint = TrainingCheckpoint.Load(Path.Combine(run, Trainer.CheckpointFileName)))
            Assert.Equal(0, checkpoint.Step);
        using var resumed = Train(run, 1, resumePath: Path.Combine(run, Trainer.CheckpointFileName), optimizer: optimizer);
        AssertBitIdentical(straight, resumed);
    }

    [Fact]
    public void SameSeedSameResultOtherSeedOtherResult()
    {
        using var a = Train(null, 1);
        using var b = Train(null, 1);
        AssertBitIdentical(a, b);
        using var data = SyntheticQuadrants.Create(48, seed: 1);
        using var c = TrainingFixtures.TinyModel("deep:2");
        using var trainer = new Trainer(c, TrainingFixtures.Options(ObjectiveKind.AdaptKl),
            SyntheticQuadrants.Loader(data, 16, augment: true), Options("head,patch") with { Seed = 4 });
        trainer.Run();
        Assert.False(a.PromptTokens!.equal(c.PromptTokens!).all().item<bool>());
    }

    [Fact]
    public void ResumeRefusesAnotherSeed()
    {
        var run = Path.Combine(folder, "seed");
        using (Train(run, 1)) { }
        using var data = SyntheticQuadrants.Create(48, seed: 1);
        using var model = TrainingFixtures.TinyModel("deep:2");
        using var trainer = new Trainer(model, TrainingFixtures.Options(ObjectiveKind.AdaptKl),
            SyntheticQuadrants.Loader(data, 16), Options("head,patch", 2) with { Seed = 99 });
        Assert.Throws<ArgumentException>(() => trainer.Resume(Path.Combine(run, Trainer.CheckpointFileName)));
    }
}

/// <summary>IProgress that runs the handler on the reporting thread (System.Progress posts to the thread pool).</summary>
internal sealed class SynchronousProgress(Action<TrainingProgress> handler) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => handler(value);
}
