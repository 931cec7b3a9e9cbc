using AdaptSharp.Checkpoints;
using System.Buffers.Binary;
using AdaptSharp.Attacks;
using AdaptSharp.Data;
using AdaptSharp.Evaluation;
using AdaptSharp.Models;
using AdaptSharp.Tests.Data;
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
    public static VisionTransformer PromptedModel(long seed = 3, string prompts = "deep:2", int? numClasses = null)
    {
        var model = new VisionTransformer(numClasses is int k ? TinyConfig with { NumClasses = k } : TinyConfig, PromptConfig.Parse(prompts), seed);
        using (no_grad())
            model.Head!.weight!.mul_(50.0);
        model.eval();
        return model;
    }

    /// <summary>Saves <paramref name="model"/> as DIR/backbone.safetensors and its prompts as DIR/prompts.safetensors.</summary>
    public static (string Backbone, string Prompts, string Fingerprint) SaveBackboneAndPrompts(VisionTransformer model, string dir)
    {
        var backbone = Path.Combine(dir, "backbone.safetensors");
        var prompts = Path.Combine(dir, "prompts.safetensors");
        var fingerprint = BackboneFile.Save(backbone, model);
        PromptFile.Save(prompts, model, new PromptFileInfo { BackboneFingerprint = fingerprint, Method = "test" });
        return (backbone, prompts, fingerprint);
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

    /// <summary>
    /// An MNIST-style folder (train = test images) of <paramref name="points"/> random 8x8 images labelled with f_P's own
    /// predictions (clean accuracy 100%).
    /// </summary>
    public static string LabelledMnistFolder(VisionTransformer model, string dir, int points)
    {
        Directory.CreateDirectory(dir);
        var random = new Random(17);
        var pixels = new byte[points * 64];
        random.NextBytes(pixels);
        var images = new byte[16 + pixels.Length];
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(0), 0x0803);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(4), points);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(8), 8);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(12), 8);
        pixels.CopyTo(images, 16);
        foreach (var split in new[] { "train", "t10k" })
        {
            File.WriteAllBytes(Path.Combine(dir, $"{split}-images-idx3-ubyte"), images);
            File.WriteAllBytes(Path.Combine(dir, $"{split}-labels-idx1-ubyte"), DataFiles.IdxLabels(points));
        }
        var (x, _) = DatasetLoader.LoadEvaluationSet(DatasetSpec.Parse($"mnist:{dir}"), points, 8, 1, DatasetSplit.Test);
        using (x)
        using (no_grad())
        {
            using var predictions = model.Forward(x, usePrompts: true).argmax(1);
            var labels = new byte[8 + points];
            BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(0), 0x0801);
            BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(4), points);
            for (var i = 0; i < points; i++)
                labels[8 + i] = (byte)predictions[i].item<long>();
            File.WriteAllBytes(Path.Combine(dir, "t10k-labels-idx1-ubyte"), labels);
        }
        return dir;
    }
}
