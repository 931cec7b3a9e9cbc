using System.Globalization;
using AdaptSharp.Attacks;
using AdaptSharp.Checkpoints;
using AdaptSharp.Models;
using AdaptSharp.Training;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Checkpoints;

public sealed class PromptFileTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    private static readonly TrainableSet AdaptSet = TrainableSet.Prompts | TrainableSet.Head | TrainableSet.PatchEmbed;

    /// <summary>A backbone file, and a model on it whose prompts, head and patch embedding were then "trained".</summary>
    private (string BackbonePath, string Fingerprint, VisionTransformer Trained) Trained(string prompts = "deep:3", int classes = 5)
    {
        var config = TinyVit.Config(classes: classes);
        var backbonePath = temp.File("backbone.safetensors");
        using (var pretrained = new VisionTransformer(config, seed: 1))
        {
            TinyVit.Perturb(pretrained, 2);
            BackboneFile.Save(backbonePath, pretrained);
        }
        var loaded = BackboneFile.Load(backbonePath, prompts: PromptConfig.Parse(prompts), seed: 3);
        var model = loaded.Model;
        model.SetTrainable(AdaptSet);
        using (no_grad())
        {
            var gen = new Generator(9);
            foreach (var (_, p) in model.TrainableParameters())
                p.add_(randn(p.shape, generator: gen));
        }
        return (backbonePath, loaded.Fingerprint, model);
    }

    private static PromptFileInfo Info(string fingerprint, TrainableSet trainable) => new()
    {
        BackboneFingerprint = fingerprint,
        Trainable = trainable,
        Method = "adapt-ce lambda=6",
        ThreatModel = "linf eps=0.1 pgd-10",
        Extra = new Dictionary<string, string> { ["epochs"] = "20", ["seed"] = "3" },
    };

    [Fact]
    public void RoundTripReproducesBothViewsExactly()
    {
        var (backbonePath, fingerprint, trained) = Trained();
        using var _ = trained;
        var path = temp.File("prompts.safetensors");
        PromptFile.Save(path, trained, Info(fingerprint, AdaptSet));

        var info = PromptFile.ReadInfo(path);
        Assert.Equal(trained.Config, info.Config);
        Assert.Equal(PromptConfig.Parse("deep:3"), info.Prompts);
        Assert.Equal(fingerprint, info.BackboneFingerprint);
        Assert.Equal(AdaptSet, info.Trainable);
        Assert.Equal("adapt-ce lambda=6", info.Method);
        Assert.Equal("linf eps=0.1 pgd-10", info.ThreatModel);
        Assert.Equal(new Dictionary<string, string> { ["epochs"] = "20", ["seed"] = "3" }, info.Extra);
        Assert.Equal(["head.bias", "head.weight", "patch_embed.proj.bias", "patch_embed.proj.weight", "prompt_tokens"], info.TensorNames);

        // Rebuild as a user would: config and prompt layout from the prompt file, weights from the backbone file.
        using var restored = BackboneFile.Load(backbonePath, info.Config, info.Prompts, seed: 77);
        PromptFile.Load(path, restored.Model, restored.Fingerprint);
        using var x = TinyVit.Images(trained.Config);
        using var expectedP = trained.Prompted.Forward(x);
        using var actualP = restored.Model.Prompted.Forward(x);
        using var expected0 = trained.Unprompted.Forward(x);
        using var actual0 = restored.Model.Unprompted.Forward(x);
        Assert.True(TinyVit.SameValues(expectedP, actualP));
        Assert.True(TinyVit.SameValues(expected0, actual0));
    }

    [Fact]
    public void StoresOnlyTheTrainableGroups()
    {
        var (_, fingerprint, trained) = Trained();
        using var _ = trained;
        var promptsOnly = temp.File("p.safetensors");
        PromptFile.Save(promptsOnly, trained, Info(fingerprint, TrainableSet.Prompts));
        Assert.Equal(["prompt_tokens"], PromptFile.ReadInfo(promptsOnly).TensorNames);

        var withHead = temp.File("ph.safetensors");
        PromptFile.Save(withHead, trained, Info(fingerprint, TrainableSet.Prompts | TrainableSet.Head));
        Assert.Equal(["head.bias", "head.weight", "prompt_tokens"], PromptFile.ReadInfo(withHead).TensorNames);

        using var reader = SafetensorsReader.Open(withHead);
        Assert.Equal(new long[] { 2, 3, 16 }, reader.GetEntry("prompt_tokens").Shape);
    }

    [Fact]
    public void DifferentBackboneIsRefused()
    {
        var (_, fingerprint, trained) = Trained();
        using var _ = trained;
        var path = temp.File("prompts.safetensors");
        PromptFile.Save(path, trained, Info(fingerprint, AdaptSet));

        using var other = new VisionTransformer(trained.Config, trained.PromptConfig, seed: 5);
        var otherPath = temp.File("other.safetensors");
        var otherFingerprint = BackboneFile.Save(otherPath, other);
        using var x = TinyVit.Images(other.Config);
        using var before = other.forward(x);
        var error = Assert.Throws<CheckpointFormatException>(() => PromptFile.Load(path, other, otherFingerprint));
        Assert.StartsWith(path + ": ", error.Message);
        Assert.Contains($"trained on backbone {fingerprint[..16]}", error.Message);
        Assert.Contains($"loaded backbone is {otherFingerprint[..16]}", error.Message);
        Assert.DoesNotContain('\n', error.Message);
        using var after = other.forward(x);
        Assert.True(TinyVit.SameValues(before, after));
    }

    [Fact]
    public void OtherPromptLayoutOrConfigIsRefused()
    {
        var (_, fingerprint, trained) = Trained();
        using var _ = trained;
        var path = temp.File("prompts.safetensors");
        PromptFile.Save(path, trained, Info(fingerprint, AdaptSet));

        using var longer = new VisionTransformer(trained.Config, PromptConfig.Parse("deep:4"));
        Assert.Contains("holds deep:3 prompts but the model was built with deep:4",
            Assert.Throws<CheckpointFormatException>(() => PromptFile.Load(path, longer, fingerprint)).Message);

        using var moreClasses = new VisionTransformer(trained.Config with { NumClasses = 7 }, trained.PromptConfig);
        Assert.Contains("classes 5 in the file, 7 in the model",
            Assert.Throws<CheckpointFormatException>(() => PromptFile.Load(path, moreClasses, fingerprint)).Message);
    }

    [Fact]
    public void WrongTensorShapeOrNameIsRefused()
    {
        var (_, fingerprint, trained) = Trained();
        using var _ = trained;
        var good = temp.File("good.safetensors");
        PromptFile.Save(good, trained, Info(fingerprint, TrainableSet.Prompts));
        IReadOnlyDictionary<string, string> metadata;
        using (var reader = SafetensorsReader.Open(good))
            metadata = reader.Metadata;

        var badShape = temp.File("shape.safetensors");
        SafetensorsWriter.Write(badShape, [new("prompt_tokens", zeros(2, 4, 16))], metadata);
        Assert.Contains("tensor 'prompt_tokens' has shape [2,4,16] but the model expects [2,3,16]",
            Assert.Throws<CheckpointFormatException>(() => PromptFile.Load(badShape, trained, fingerprint)).Message);

        var badName = temp.File("name.safetensors");
        SafetensorsWriter.Write(badName, [new("prompt_tokens", zeros(2, 3, 16)), new("blocks.0.norm1.weight", ones(16))], metadata);
        Assert.Contains("unexpected tensor 'blocks.0.norm1.weight'",
            Assert.Throws<CheckpointFormatException>(() => PromptFile.Load(badName, trained, fingerprint)).Message);

        var missing = temp.File("missing.safetensors");
        SafetensorsWriter.Write(missing, [new("head.weight", zeros(5, 16))], metadata);
        Assert.Contains("missing tensor 'prompt_tokens'",
            Assert.Throws<CheckpointFormatException>(() => PromptFile.Load(missing, trained, fingerprint)).Message);
    }

    [Fact]
    public void BackboneFileIsNotAPromptFile()
    {
        var (backbonePath, fingerprint, trained) = Trained();
        using var _ = trained;
        Assert.Contains("backbone file, not a prompt file",
            Assert.Throws<CheckpointFormatException>(() => PromptFile.Load(backbonePath, trained, fingerprint)).Message);
    }

    [Fact]
    public void SaveRefusesFullFineTuningAndMissingGroups()
    {
        var (_, fingerprint, trained) = Trained();
        using var _ = trained;
        var path = temp.File("x.safetensors");
        Assert.Throws<ArgumentException>(() => PromptFile.Save(path, trained, Info(fingerprint, TrainableSet.Backbone | TrainableSet.Prompts)));
        Assert.Throws<ArgumentException>(() => PromptFile.Save(path, trained, Info("", TrainableSet.Prompts)));
        Assert.Throws<ArgumentException>(() => PromptFile.Save(path, trained,
            Info(fingerprint, TrainableSet.Prompts) with { Extra = new Dictionary<string, string> { ["adaptsharp.config"] = "x" } }));
        using var headless = new VisionTransformer(TinyVit.Config(classes: 0));
        Assert.Throws<ArgumentException>(() => PromptFile.Save(path, headless, Info(fingerprint, TrainableSet.Head)));
        Assert.Throws<ArgumentException>(() => PromptFile.Save(path, headless, Info(fingerprint, TrainableSet.Prompts)));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void MetadataWrittenUnderADecimalCommaCultureRoundTripsAsUnderTheInvariantCulture()
    {
        var objective = new TrainingObjective(ObjectiveKind.AdaptCe, new InnerAttackOptions(0.1, 0.025, 5), Lambda: 1.5);
        var threat = ThreatModel.LInf(2.5 / 255);
        var expectedMethod = objective.Describe();
        var expectedThreat = threat.ToString();
        Assert.Contains("lambda 1.5", expectedMethod);

        var (backbonePath, fingerprint, trained) = Trained();
        using var _ = trained;
        var path = temp.File("prompts-de.safetensors");
        var previous = CultureInfo.CurrentCulture;
        PromptFileInfo info;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
            Assert.Equal("1,5", 1.5.ToString(CultureInfo.CurrentCulture)); // the culture really writes a decimal comma
            PromptFile.Save(path, trained, new PromptFileInfo
            {
                BackboneFingerprint = fingerprint,
                Trainable = AdaptSet,
                Method = objective.Describe(),
                ThreatModel = threat.ToString(),
            });
            info = PromptFile.ReadInfo(path);
            Assert.Equal(trained.PromptConfig, PromptConfig.Parse(info.Prompts!.ToString()));
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }

        Assert.Equal(expectedMethod, info.Method);
        Assert.Equal(expectedThreat, info.ThreatModel);
        Assert.Equal(trained.Config, info.Config);
        Assert.Equal(trained.PromptConfig, info.Prompts);
    }
}
