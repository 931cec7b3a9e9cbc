using AdaptSharp.Models;
using AdaptSharp.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Training;

/// <summary>
/// A real learning test in seconds: a tiny ViT is pretrained (clean, full) on the quadrant task, then its prompts,
/// head and patch embedding are tuned on a variant where a quarter of the images lack the quadrant but every image
/// carries a faint class mark (30 levels) that PGD at eps 0.15 can forge. Natural tuning learns the task, partly
/// through the mark; adapt-ce must rely on the quadrant and ends clearly more robust to adaptive PGD.
/// </summary>
public class LearningTests(ITestOutputHelper output)
{
    private const double Eps = 0.15;
    private const int Shortcut = 30;

    private EpochMetrics Train(VisionTransformer model, ObjectiveKind kind, TrainableSet trainable, int epochs, int shortcut)
    {
        using var scope = NewDisposeScope();
        using var train = SyntheticQuadrants.Create(256, seed: 1, shortcut: shortcut);
        using var test = SyntheticQuadrants.Create(128, seed: 2, shortcut: shortcut);
        var attack = new InnerAttackOptions(Eps, Eps / 4, Steps: 5);
        var objective = new TrainingObjective(kind, attack, Lambda: 3.0);
        var options = new TrainerOptions
        {
            Epochs = epochs,
            Seed = 7,
            Trainable = trainable,
            Optimizer = OptimizerOptions.AdamW(0.0),
            Schedule = LearningRateSchedule.OneCycle(0.01),
            EvaluationAttack = attack,
        };
        using var trainer = new Trainer(model, objective, SyntheticQuadrants.Loader(train, 16), options, SyntheticQuadrants.Tensors(test));
        var last = trainer.Run().Metrics[^1];
        output.WriteLine($"{kind} {TrainableSets.Format(trainable)}: clean {last.EvalCleanAccuracy:F3} adaptive {last.EvalAdversarialAccuracy:F3} loss {last.TrainLoss:F3}");
        return last;
    }

    [Fact]
    public void NaturalPromptTuningLearnsAndAdaptCeIsMoreRobust()
    {
        var tuned = TrainableSet.Prompts | TrainableSet.Head | TrainableSet.PatchEmbed;
        using var pretrained = TrainingFixtures.TinyModel("deep:2", seed: 5);
        Train(pretrained, ObjectiveKind.Natural, TrainableSets.Parse("full"), 5, shortcut: 0);
        var backbone = pretrained.state_dict();

        using var natural = TrainingFixtures.TinyModel("deep:2", seed: 5);
        natural.load_state_dict(backbone);
        natural.InitializeHead(1);
        var n = Train(natural, ObjectiveKind.Natural, tuned, 4, Shortcut);

        using var adapt = TrainingFixtures.TinyModel("deep:2", seed: 5);
        adapt.load_state_dict(backbone);
        adapt.InitializeHead(1);
        var a = Train(adapt, ObjectiveKind.AdaptCe, tuned, 4, Shortcut);

        Assert.True(n.EvalCleanAccuracy > 0.6, $"natural prompt tuning should learn the task (chance 0.25), got {n.EvalCleanAccuracy}");
        Assert.True(a.EvalAdversarialAccuracy > n.EvalAdversarialAccuracy + 0.1,
            $"adapt-ce adaptive-PGD accuracy {a.EvalAdversarialAccuracy} should clearly beat natural's {n.EvalAdversarialAccuracy}");
    }
}
