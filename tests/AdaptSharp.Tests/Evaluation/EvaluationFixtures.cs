using AdaptSharp.Attacks;
using AdaptSharp.Evaluation;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Evaluation;

/// <summary>A tiny prompted ViT and labelled images on which it is 100% accurate, for evaluator tests.</summary>
internal static class EvaluationFixtures
{
    public static readonly VitConfig TinyConfig = new()
    {
        Name = "vit-test-tiny",
        ImageSize = 8,
        PatchSize = 4,
        InChannels = 1,
        Width = 16,
        Depth = 2,
        Heads = 2,
        MlpRatio = 2.0,
        NumClasses = 4,
        Mean = [0.5f],
        Std = [0.25f],
    };

    /// <summary>
    /// A tiny deep-prompted ViT whose prompts change some predictions (f_P != f_0 on the fixture data), with the
    /// head scaled so the logits are not all near zero.
    /// </summary>
    public static VisionTransformer PromptedModel(long seed = 3, string prompts = "deep:2")
    {
        var model = new VisionTransformer(TinyConfig, PromptConfig.Parse(prompts), seed);
        using (no_grad())
            model.Head!.weight!.mul_(50.0);
        model.eval();
        return model;
    }

    /// <summary>Uniform images, labelled with f_P's own predictions (clean accuracy 100%).</summary>
    public static (Tensor Images, Tensor Labels) Data(VisionTransformer model, int n, long seed = 11)
    {
        var g = new Generator((ulong)seed);
        var images = rand(new long[] { n, 1, 8, 8 }, generator: g);
        using var _ = no_grad();
        var labels = model.Forward(images, usePrompts: true).argmax(1);
        return (images, labels);
    }

    public static EvaluationOptions Options(params string[] attacks) => new()
    {
        Threat = ThreatModel.LInf(0.1),
        Attacks = AttackSpec.ParseList(attacks.Length == 0 ? "clean,fgsm,pgd5" : string.Join(",", attacks)),
        Sources = [AttackSource.Adaptive, AttackSource.Agnostic],
        Seed = 5,
        BatchSize = 8,
        CheckPoints = 16,
        Data = "synthetic",
    };

    public static string TempDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "adapt-eval-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
