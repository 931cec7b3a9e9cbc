using AdaptSharp.Attacks;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Attacks;

/// <summary>Attacks on a tiny prompted ViT: f_P vs f_0, and no weight gradients.</summary>
public class VitAttackTests
{
    private static VitConfig Tiny() => new()
    {
        Name = "attack-tiny",
        ImageSize = 8,
        PatchSize = 4,
        InChannels = 3,
        Width = 16,
        Depth = 2,
        Heads = 2,
        MlpRatio = 2,
        NumClasses = 10,
    };

    [Fact]
    public void AttacksUseInputGradientsOnlyAndAdaptiveDiffersFromAgnostic()
    {
        using var scope = NewDisposeScope();
        using var vit = new VisionTransformer(Tiny(), PromptConfig.Parse("deep:4"), seed: 7);
        vit.eval();
        // prompts and head trainable (requires_grad = true): attacks must still leave every .grad untouched
        vit.SetTrainable(TrainableSet.Prompts | TrainableSet.Head);
        var x = TinyModels.Images(6, new long[] { 3, 8, 8 }, seed: 8);
        var y = TinyModels.Predict(vit.Prompted, x);
        var threat = ThreatModel.LInf(8.0 / 255);

        var adaptive = new Pgd(threat, new PgdOptions(5), seed: 1).Perturb(vit.Prompted, x, y);
        var agnostic = new Pgd(threat, new PgdOptions(5), seed: 1).Perturb(vit.Unprompted, x, y);
        threat.Validate(adaptive, x);
        threat.Validate(agnostic, x);
        Assert.True((adaptive - agnostic).abs().max().ToDouble() > 1e-4);

        var aa = new AutoAttack(threat, AutoAttackOptions.Custom(new Attack[]
        {
            new Apgd(threat, new ApgdOptions(5), 1), new Apgd(threat, new ApgdOptions(5, TargetClasses: 2), 1), new Fab(threat, new FabOptions(5, TargetClasses: 2), 1),
            new Square(threat, new SquareOptions(20), seed: 1),
        }), 1);
        var result = aa.Evaluate(vit.Unprompted, vit.Prompted, x, y);
        Assert.Equal("f_0", result.GeneratingModel);
        Assert.Equal(1.0, result.CleanAccuracy);
        Assert.True(result.Stages.Zip(result.Stages.Skip(1), (a, b) => b.CumulativeAccuracy <= a.CumulativeAccuracy).All(ok => ok));

        foreach (var (name, p) in vit.named_parameters())
            Assert.True(p.grad is null || p.grad.abs().max().ToDouble() == 0, $"{name} received a weight gradient");
        Assert.Contains(vit.parameters(), p => p.requires_grad);
    }
}
