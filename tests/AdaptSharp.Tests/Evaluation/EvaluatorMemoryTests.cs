using AdaptSharp.Evaluation;
using TorchSharp;

namespace AdaptSharp.Tests.Evaluation;

public class EvaluatorMemoryTests
{
    [Fact]
    public void LiveTensorCountDoesNotGrowWithBatches()
    {
        using var model = EvaluationFixtures.PromptedModel();
        var (images, labels) = EvaluationFixtures.Data(model, 24);
        var options = EvaluationFixtures.Options("clean", "fgsm", "pgd3") with { BatchSize = 4, RunChecks = false };
        var evaluator = new RobustnessEvaluator(model, options);
        evaluator.Run(images, labels); // warm-up (lazy buffers, caches)

        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        evaluator.Run(images, labels);
        var afterFirst = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        evaluator.Run(images, labels);
        var afterSecond = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        // 6 batches x 5 columns per run: any per-batch leak would add dozens of tensors per run.
        Assert.True(afterFirst - before <= 2, $"live tensors grew from {before} to {afterFirst}");
        Assert.True(afterSecond - afterFirst <= 2, $"live tensors grew from {afterFirst} to {afterSecond}");
    }
}
