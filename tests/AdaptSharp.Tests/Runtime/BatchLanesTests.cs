using AdaptSharp.Models;
using AdaptSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Runtime;

/// <summary>
/// Attack steps in lanes (<see cref="BatchLanes"/>, <see cref="ModelView.LossAndInputGradient"/>): slices of the batch
/// through the model side by side give the whole batch's loss, input gradient and logits bit for bit, at uneven slices
/// too; a view whose body mixes the batch's rows is caught by the check before the first laned step and never laned.
/// </summary>
[Collection(GemmRoutingCollection.Name)]
public sealed class BatchLanesTests
{
    [Fact]
    public void EveryPartRunsOnItsOwnThreadAtOneTorchThreadAndTheCallersCountComesBack()
    {
        using var restore = new ThreadCountRestore();
        set_num_threads(2);
        var threads = new int[3];
        var counts = new int[3];
        BatchLanes.Run(3, lane =>
        {
            threads[lane] = Environment.CurrentManagedThreadId;
            counts[lane] = get_num_threads();
        });
        Assert.Equal(Environment.CurrentManagedThreadId, threads[0]);
        Assert.Equal(3, threads.Distinct().Count());
        Assert.All(counts, c => Assert.Equal(1, c));
        Assert.Equal(2, get_num_threads());
    }

    [Fact]
    public void APartsExceptionComesBackAfterEveryPartEnded()
    {
        var ended = new bool[2];
        var error = Assert.Throws<InvalidOperationException>(() => BatchLanes.Run(2, lane =>
        {
            if (lane == 1)
                throw new InvalidOperationException("lane 1 failed");
            Thread.Sleep(50);
            ended[lane] = true;
        }));
        Assert.Equal("lane 1 failed", error.Message);
        Assert.True(ended[0]);
        BatchLanes.Run(2, lane => ended[lane] = true); // the lane thread lives on
        Assert.True(ended[1]);
    }

    /// <summary>
    /// A ViT wide enough for the routed products, 5 images (slices of 2 and 3): with the count alternating, every other
    /// step (and every other query without a graph) runs in two lanes, and every step gives the bits of the whole batch at
    /// a fixed one and two threads. On the
    /// AVX-512 kernel, whose rows depend on neither the thread count nor the other rows (elsewhere the check decides).
    /// </summary>
    [Avx512Fact]
    public void LanedStepsGiveTheWholeBatchsBits()
    {
        var config = new VitConfig { Name = "wide-tiny", ImageSize = 32, PatchSize = 8, InChannels = 3, Width = GemmRouting.MinDimension, Depth = 2, Heads = 4, NumClasses = 5 };
        using var model = new VisionTransformer(config, PromptConfig.Parse("deep:2"), seed: 3);
        model.SetTrainable(TrainableSet.Prompts | TrainableSet.Head | TrainableSet.PatchEmbed);
        model.eval();
        using var images = rand(5, 3, 32, 32, generator: new Generator(5));
        using var labels = randint(0, 5, [5], generator: new Generator(6));
        Tensor Loss(Tensor logits) => nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.None);
        using var restore = new ThreadCountRestore(adaptive: true);
        var reference = new List<(Tensor, Tensor, Tensor)>();
        foreach (var threads in new[] { 1, 2 })
        {
            set_num_threads(threads);
            AdaptiveThreads.Configure(threads, ThreadPolicy.Fixed);
            reference.Add(model.Prompted.LossAndInputGradient(images, Loss));
        }
        AssertSame(reference[0], reference[1], "two threads against one");
        set_num_threads(2);
        AdaptiveThreads.Configure(2, ThreadPolicy.Alternate);
        for (var step = 0; step < 4; step++)
            AssertSame(reference[0], model.Prompted.LossAndInputGradient(images, Loss), $"step {step}");
        // forwards without a graph (an attack's queries) too
        using (no_grad())
        {
            for (var step = 0; step < 4; step++)
                Assert.True(model.Prompted.Forward(images).equal(reference[0].Item3).all().item<bool>(), $"query {step}: other logits");
        }
        Assert.Matches(@"alternate threads: 4 steps at [12], 4 steps at [12] \(4 in lanes\)$", AdaptiveThreads.Summary);
    }

    /// <summary>A body that subtracts the batch's mean: its slices give other bits, so its steps never run in lanes.</summary>
    [Fact]
    public void ABodyThatMixesRowsIsNeverLaned()
    {
        var weight = randn(5, 12, generator: new Generator(7));
        Tensor Body(Tensor x) => x.flatten(1) - x.flatten(1).mean([0], keepdim: true);
        Tensor Head(Tensor f) => f.matmul(weight.t());
        var view = new ModelView("batch-mixing", x => Head(Body(x)), new LanedForward(Body, Head));
        using var images = rand(6, 3, 2, 2, generator: new Generator(8));
        using var labels = randint(0, 5, [6], generator: new Generator(9));
        Tensor Loss(Tensor logits) => nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.None);
        using var restore = new ThreadCountRestore(adaptive: true);
        set_num_threads(2);
        AdaptiveThreads.Configure(2, ThreadPolicy.Fixed);
        var whole = view.LossAndInputGradient(images, Loss);
        AdaptiveThreads.Configure(2, ThreadPolicy.Alternate);
        for (var step = 0; step < 4; step++)
            AssertSame(whole, view.LossAndInputGradient(images, Loss), $"step {step}");
        Assert.DoesNotContain("lanes", AdaptiveThreads.Summary);
    }

    private static void AssertSame((Tensor Loss, Tensor Gradient, Tensor Logits) expected, (Tensor Loss, Tensor Gradient, Tensor Logits) actual, string what)
    {
        Assert.True(actual.Loss.equal(expected.Loss).all().item<bool>(), $"{what}: other losses");
        Assert.True(actual.Gradient.equal(expected.Gradient).all().item<bool>(), $"{what}: other input gradients");
        Assert.True(actual.Logits.equal(expected.Logits).all().item<bool>(), $"{what}: other logits");
    }
}
