using AdaptSharp.Models;
using AdaptSharp.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Training;

public class LearningTests(ITestOutputHelper output)
{
    private const double Eps = 0.2;

    private static TrainerOptions Options(TrainableSet trainable, double lr, int epochs, InnerAttackOptions? attack) => new()
    {
        Epochs = epochs, Seed = 7, Trainable = trainable,
        Optimizer = OptimizerOptions.AdamW(0.0),
        Schedule = LearningRateSchedule.OneCycle(lr),
        EvaluationAttack = attack,
    };

    private EpochMetrics Train(VisionTransformer model, ObjectiveKind kind, TrainableSet trainable, double lr, int epochs)
    {
        using var scope = NewDisposeScope();
        using var train = SyntheticQuadrants.Create(256, seed: 1);
        using var test = SyntheticQuadrants.Create(128, seed: 2);
        var attack = new InnerAttackOptions(Eps, Eps / 4, Steps: 5);
        var objective = new ObjectiveOptions(kind, attack, Lambda: 3.0).Create();
        using var trainer = new Trainer(model, objective, SyntheticQuadrants.Loader(train, 16), Options(trainable, lr, epochs, attack),
            SyntheticQuadrants.Tensors(test));
        var last = trainer.Run().Metrics[^1];
        output.WriteLine($"{kind} {TrainableSets.Format(trainable)}: clean {last.EvalCleanAccuracy:F3} adaptive {last.EvalAdversarialAccuracy:F3} loss {last.TrainLoss:F3}");
        return last;
    }

    [Fact]
    public void NaturalPromptTuningLearnsAndAdaptCeIsMoreRobust()
    {
        var full = TrainableSets.Parse("full");
        var tuned = TrainableSet.Prompts | TrainableSet.Head | TrainableSet.PatchEmbed;
        using var pretrained = TrainingFixtures.TinyModel("deep:2", seed: 5);
        Train(pretrained, ObjectiveKind.Natural, full, 0.01, 5);
        var backbone = pretrained.state_dict();

        using var natural = TrainingFixtures.TinyModel("deep:2", seed: 5);
        natural.load_state_dict(backbone);
        natural.InitializeHead(1);
        var n = Train(natural, ObjectiveKind.Natural, tuned, 0.01, 4);

        using var adapt = TrainingFixtures.TinyModel("deep:2", seed: 5);
        adapt.load_state_dict(backbone);
        adapt.InitializeHead(1);
        var a = Train(adapt, ObjectiveKind.AdaptCe, tuned, 0.01, 4);

        Assert.True(n.EvalCleanAccuracy > 0.8, $"natural prompt tuning should learn the task (chance 0.25), got {n.EvalCleanAccuracy}");
        Assert.True(a.EvalAdversarialAccuracy > n.EvalAdversarialAccuracy + 0.1,
            $"adapt-ce adaptive-PGD accuracy {a.EvalAdversarialAccuracy} should clearly beat natural's {n.EvalAdversarialAccuracy}");
    }
}
