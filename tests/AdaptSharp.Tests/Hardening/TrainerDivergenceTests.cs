using System.Security.Cryptography;
using AdaptSharp.Models;
using AdaptSharp.Tests.Training;
using AdaptSharp.Training;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Hardening;

public sealed class TrainerDivergenceTests : IDisposable
{
    private readonly string run = Directory.CreateTempSubdirectory("adapt-diverge-").FullName;

    public void Dispose() => Directory.Delete(run, recursive: true);

    private TrainerOptions Options(LearningRateSchedule schedule) => new()
    {
        Epochs = 2,
        Seed = 3,
        Trainable = TrainableSets.Parse("head,patch"),
        Optimizer = OptimizerOptions.Sgd(0.9, 1e-4),
        Schedule = schedule,
        RunDirectory = run,
    };

    [Fact]
    public void NonFiniteLossStopsTrainingAndKeepsTheLastGoodCheckpoint()
    {
        using var scope = NewDisposeScope();
        using var data = SyntheticQuadrants.Create(32, seed: 1);
        using (var model = TrainingFixtures.TinyModel("deep:2"))
        using (var trainer = new Trainer(model, TrainingFixtures.Options(ObjectiveKind.Natural), SyntheticQuadrants.Loader(data, 16),
                   Options(LearningRateSchedule.Constant(0.05))))
            trainer.Run(stopAfterEpoch: 1);
        var checkpoint = Path.Combine(run, Trainer.CheckpointFileName);
        var metrics = Path.Combine(run, Trainer.MetricsFileName);
        var before = (Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(checkpoint))), File.ReadAllText(metrics));

        using var resumed = TrainingFixtures.TinyModel("deep:2");
        using var diverging = new Trainer(resumed, TrainingFixtures.Options(ObjectiveKind.Natural), SyntheticQuadrants.Loader(data, 16),
            Options(LearningRateSchedule.Constant(1e30)));
        diverging.Resume(checkpoint);
        var e = Assert.Throws<TrainingDivergedException>(() => diverging.Run());
        Assert.Contains("epoch 2", e.Message);
        Assert.Contains("last good checkpoint", e.Message);
        Assert.Equal(before, (Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(checkpoint))), File.ReadAllText(metrics)));
        foreach (var (_, p) in diverging.Parameters)
            Assert.True(p.isfinite().all().item<bool>(), "no non-finite step was applied");
    }
}
