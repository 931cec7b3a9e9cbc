using AdaptSharp.Training;

namespace AdaptSharp.Tests.Training;

public class TrainingRecipeTests
{
    [Theory]
    [InlineData(0.1, 0.05, 2)]
    [InlineData(0.1, 0.125, 1)]
    [InlineData(8.0 / 255, 2.0 / 255, 10)]
    public void PerEpochCheckIsPgd10WithAQuarterEpsStepWhateverTheInnerAttack(double eps, double step, int steps)
    {
        var check = TrainingJob.EvaluationAttackFor(new InnerAttackOptions(eps, step, steps));
        Assert.Equal(new InnerAttackOptions(eps, eps / 4, Steps: 10, RandomStart: true), check);
    }

    [Fact]
    public void PaperCifar10RecipeIsThePapersPublicCodeSettings()
    {
        var r = TrainingRecipe.Get("paper-cifar10");
        Assert.Equal(ObjectiveKind.AdaptCe, r.Method);
        Assert.Equal(6.0, r.Lambda);
        Assert.Equal("deep:25", r.Prompts);
        Assert.Equal("head,patch", r.Trainable);
        Assert.Equal(20, r.Epochs);
        Assert.Equal(64, r.BatchSize);
        Assert.Equal(OptimizerKind.Sgd, r.Optimizer.Kind);
        Assert.Equal(0.9, r.Optimizer.Momentum);
        Assert.Equal(1e-4, r.Optimizer.WeightDecay);
        Assert.False(r.Optimizer.SkipDecayOnNormsAndBiases);
        Assert.Equal(1.0, r.LearningRate);
        Assert.Equal(ScheduleKind.OneCycle, LearningRateSchedule.Parse(r.Schedule, r.LearningRate).Kind);
        Assert.Equal(1.0, r.GradientClipNorm);
        Assert.Equal(32, r.ImageSize);
        Assert.True(r.Augment);
        Assert.Equal(8.0 / 255, r.Attack!.Epsilon);
        Assert.Equal(2.0 / 255, r.Attack.StepSize);
        Assert.Equal(10, r.Attack.Steps);
    }

    [Fact]
    public void RecipesAreFoundByNameAndPerDataset()
    {
        Assert.Same(TrainingRecipe.FashionMnistCpu, TrainingRecipe.Get("FMNIST-CPU"));
        Assert.Same(TrainingRecipe.FashionMnistCpu, TrainingRecipe.DefaultFor("fashion-mnist"));
        Assert.Same(TrainingRecipe.PaperCifar10, TrainingRecipe.DefaultFor("cifar10"));
        Assert.Equal("full", TrainingRecipe.PretrainFashionMnistCpu.Trainable);
        Assert.Throws<ArgumentException>(() => TrainingRecipe.Get("nope"));
    }
}
