using AdaptSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Training;

public class TrainerMemoryTests
{
    [Theory]
    [InlineData(ObjectiveKind.AdaptKl, OptimizerKind.Sgd)]
    [InlineData(ObjectiveKind.Trades, OptimizerKind.AdamW)]
    [InlineData(ObjectiveKind.Mart, OptimizerKind.Sgd)]
    [InlineData(ObjectiveKind.Nfgsm, OptimizerKind.Sgd)]
    public void TrainingStepsLeaveNoLiveTensorsBehind(ObjectiveKind kind, OptimizerKind optimizer)
    {
        using var data = SyntheticQuadrants.Create(16, seed: 1);
        using var model = TrainingFixtures.TinyModel("deep:2");
        var (images, labels) = SyntheticQuadrants.Tensors(data);
        using var trainer = new Trainer(model, TrainingFixtures.Options(kind), SyntheticQuadrants.Loader(data, 16),
            new TrainerOptions
            {
                Epochs = 10,
                Optimizer = optimizer == OptimizerKind.Sgd ? OptimizerOptions.Sgd() : OptimizerOptions.AdamW(),
                Schedule = LearningRateSchedule.OneCycle(0.01),
            });
        // Two warm-up steps create the gradients and the optimizer state, which then live on.
        trainer.TrainStep(images, labels);
        trainer.TrainStep(images, labels);
        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 5; i++)
            trainer.TrainStep(images, labels);
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
