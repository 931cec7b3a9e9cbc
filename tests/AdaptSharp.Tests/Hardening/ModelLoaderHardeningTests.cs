using AdaptSharp.Checkpoints;
using AdaptSharp.Models;
using AdaptSharp.Tests.Checkpoints;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Hardening;

/// <summary>
/// Issue 12 section 1 and issue 13 ("the checkpoint's head"): a model is never silently assembled from mismatched
/// artifacts, and predict/eval (<see cref="ModelUse.Inference"/>) never run a re-initialised head.
/// </summary>
public sealed class ModelLoaderHardeningTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("adapt-loader-").FullName;
    private readonly string backbone;
    private readonly string promptFile;
    private readonly string fingerprint;

    public ModelLoaderHardeningTests()
    {
        using var model = new VisionTransformer(TinyVit.Config(classes: 5), PromptConfig.Parse("deep:2"), seed: 1);
        TinyVit.Perturb(model, 2);
        backbone = Path.Combine(dir, "backbone.safetensors");
        promptFile = Path.Combine(dir, "prompts.safetensors");
        fingerprint = BackboneFile.Save(backbone, model);
        PromptFile.Save(promptFile, model, new PromptFileInfo
        {
            BackboneFingerprint = fingerprint,
            Trainable = TrainableSet.Prompts | TrainableSet.Head | TrainableSet.PatchEmbed,
        });
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static LoadedModel Load(ModelRequest request) => ModelLoader.Load(request, CPU);

    [Fact]
    public void RawTimmFileTakesItsClassCountFromItsHead()
    {
        using var original = new VisionTransformer(ModelPresets.Get(ModelPresets.SmallCpuPreset, numClasses: 7), seed: 3);
        TinyVit.Perturb(original, 4);
        var raw = Path.Combine(dir, "timm.safetensors");
        using (var scope = NewDisposeScope())
            SafetensorsWriter.Write(raw, TimmCheckpoint.ExportState(original), new Dictionary<string, string> { ["format"] = "pt" });

        using var loaded = Load(new ModelRequest(raw, ModelPresets.SmallCpuPreset));
        Assert.Equal(7, loaded.Model.Config.NumClasses); // the preset says 10
        Assert.Empty(loaded.Import!.Reinitialised);
        Assert.Contains(loaded.Notes, n => n.Contains("classes: 7", StringComparison.Ordinal));
        using var x = rand(2, 1, 28, 28, generator: new Generator(5));
        using (no_grad())
        using (var expected = original.Forward(x, usePrompts: false))
        using (var actual = loaded.Model.Forward(x, usePrompts: false))
            Assert.True(TinyVit.SameValues(expected, actual));

        var refused = Assert.Throws<ArgumentException>(() => Load(new ModelRequest(raw, ModelPresets.SmallCpuPreset, Classes: 5)));
        Assert.Contains("--classes 5", refused.Message);
        Assert.Contains("7 classes", refused.Message);
        using var tuned = Load(new ModelRequest(raw, ModelPresets.SmallCpuPreset, Classes: 5) { Use = ModelUse.Training });
        Assert.Equal(5, tuned.Model.Config.NumClasses);
        Assert.Contains(tuned.Notes, n => n.Contains("head re-initialised", StringComparison.Ordinal) && n.Contains("7 classes", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("no head", "no classification head")]
    [InlineData("transposed head", "[16,5]")]
    [InlineData("config disagrees with head", "records 7 classes")]
    public void InferenceRefusesAHeadItWouldHaveToReinitialise(string defect, string expected)
    {
        var broken = ArtifactEdits.Rewrite(backbone, Path.Combine(dir, "broken.safetensors"), (tensors, metadata) =>
        {
            switch (defect)
            {
                case "no head":
                    ArtifactEdits.Remove(tensors, "head.");
                    break;
                case "transposed head":
                    var w = tensors[TimmCheckpoint.HeadWeightName];
                    tensors[TimmCheckpoint.HeadWeightName] = w.t().contiguous();
                    w.Dispose();
                    break;
                default:
                    ArtifactEdits.PatchConfig(metadata, CheckpointMetadata.Config, c => c with { NumClasses = 7 });
                    break;
            }
        });
        var e = Assert.Throws<CheckpointFormatException>(() => Load(new ModelRequest(broken, null)));
        Assert.Contains(expected, e.Message);
        Assert.Contains("broken.safetensors", e.Message);

        // Fine-tuning may start from a fresh head: it loads, and says so when it re-initialised one.
        using var tuned = Load(new ModelRequest(broken, null, Classes: 5) { Use = ModelUse.Training });
        Assert.Equal(defect != "config disagrees with head", tuned.Import!.Reinitialised.Count > 0);
    }

    [Theory]
    [InlineData("ImageSize", "image size 16 in the file, 8 in the model")]
    [InlineData("Mean", "mean 0.3/0.3/0.3 in the file")]
    [InlineData("PatchSize", "patch size 2 in the file, 4 in the model")]
    public void PromptFileConfigMustEqualTheBackbones(string field, string expected)
    {
        var edited = ArtifactEdits.Rewrite(promptFile, Path.Combine(dir, "edited.safetensors"), (_, metadata) =>
            ArtifactEdits.PatchConfig(metadata, CheckpointMetadata.Config, c => field switch
            {
                "ImageSize" => c with { ImageSize = 16 },
                "Mean" => c with { Mean = [0.3f, 0.3f, 0.3f] },
                _ => c with { PatchSize = 2 },
            }));
        var e = Assert.Throws<CheckpointFormatException>(() => Load(new ModelRequest(backbone, null, Prompts: edited)));
        Assert.Contains(expected, e.Message);
        if (field == "ImageSize")
        {
            Assert.Contains("--img-size 16", e.Message);
            using var explicitSize = Load(new ModelRequest(backbone, null, ImageSize: 16, Prompts: edited));
            Assert.Equal(16, explicitSize.Model.Config.ImageSize);
        }
    }

    [Theory]
    [InlineData("head.")]
    [InlineData("patch_embed.")]
    public void PromptFileSayingAGroupWasTrainedMustCarryItsTensors(string group)
    {
        var edited = ArtifactEdits.Rewrite(promptFile, Path.Combine(dir, "partial.safetensors"), (tensors, _) => ArtifactEdits.Remove(tensors, group));
        var e = Assert.Throws<CheckpointFormatException>(() => Load(new ModelRequest(backbone, null, Prompts: edited)));
        Assert.Contains($"lacks tensor '{group}", e.Message);
    }

    [Fact]
    public void PromptFileHeadDecidesTheClassCountAndContradictingFlagsAreRefused()
    {
        using (var loaded = Load(new ModelRequest(backbone, null, Prompts: promptFile)))
            Assert.Equal(5, loaded.Model.Config.NumClasses);
        Assert.Throws<ArgumentException>(() => Load(new ModelRequest(backbone, null, Classes: 3, Prompts: promptFile)));
        Assert.Throws<CheckpointFormatException>(() => Load(new ModelRequest(backbone, null, ImageSize: 12, Prompts: promptFile)));
        var preset = Assert.Throws<ArgumentException>(() => Load(new ModelRequest(backbone, ModelPresets.SmallCpuPreset, Prompts: promptFile)));
        Assert.Contains("--model", preset.Message);
    }

    [Fact]
    public void PresetAloneIsRefusedForInference()
    {
        Assert.Throws<ArgumentException>(() => Load(new ModelRequest(null, ModelPresets.SmallCpuPreset)));
        using var inspected = Load(new ModelRequest(null, ModelPresets.SmallCpuPreset) { Use = ModelUse.Inspection });
        Assert.Equal(10, inspected.Model.Config.NumClasses);
    }

    [Fact]
    public void LayoutIsDecidedBySpellingNotByFilesInTheWorkingFolder()
    {
        // Files called like layouts, where a relative --prompts would find them.
        var cwd = Directory.GetCurrentDirectory();
        var decoys = new[] { "none", "deep:2" }.Select(n => Path.Combine(cwd, n)).Where(p => !File.Exists(p)).ToList();
        foreach (var decoy in decoys)
            File.Copy(promptFile, decoy);
        try
        {
            Assert.False(ModelLoader.IsPromptFile("none"));
            Assert.False(ModelLoader.IsPromptFile("deep:2"));
            Assert.True(ModelLoader.IsPromptFile("./deep:2"));
            using var layout = Load(new ModelRequest(backbone, null, Prompts: "deep:2"));
            Assert.Equal(PromptMode.Deep, layout.Model.PromptConfig.Mode);
            Assert.Null(layout.PromptFile); // untrained layout, the decoy file was not read
            using var plain = Load(new ModelRequest(backbone, null));
            Assert.False(plain.Model.HasPrompts);
        }
        finally
        {
            foreach (var decoy in decoys)
                File.Delete(decoy);
        }
    }

    [Fact]
    public void NonFiniteTensorsAreRefusedNamingFileAndTensor()
    {
        var nanBackbone = ArtifactEdits.Rewrite(backbone, Path.Combine(dir, "nan.safetensors"), (tensors, _) =>
        {
            using (no_grad())
                tensors["blocks.0.attn.qkv.weight"][0, 0] = float.NaN;
        });
        var e = Assert.Throws<CheckpointFormatException>(() => Load(new ModelRequest(nanBackbone, null)));
        Assert.Contains("blocks.0.attn.qkv.weight", e.Message);
        Assert.Contains("nan.safetensors", e.Message);

        var infPrompts = ArtifactEdits.Rewrite(promptFile, Path.Combine(dir, "inf.safetensors"), (tensors, _) =>
        {
            using (no_grad())
                tensors[VisionTransformer.PromptParameterName][0, 0, 0] = float.PositiveInfinity;
        });
        var p = Assert.Throws<CheckpointFormatException>(() => Load(new ModelRequest(backbone, null, Prompts: infPrompts)));
        Assert.Contains(VisionTransformer.PromptParameterName, p.Message);
    }

    [Fact]
    public void PromptLengthIsBoundedByTheModel()
    {
        var config = TinyVit.Config();
        Assert.Equal(256, PromptConfig.MaxLength(config)); // max(256, 4 x (4 patches + 1))
        var e = Assert.Throws<ArgumentException>(() => new VisionTransformer(config, PromptConfig.Parse("deep:100000")));
        Assert.Contains("at most 256", e.Message);
        Assert.Throws<ArgumentException>(() => Load(new ModelRequest(backbone, null, Prompts: "shallow:257") { Use = ModelUse.Inspection }));
        using var longest = new VisionTransformer(config, PromptConfig.Parse("shallow:256"));
        Assert.Equal(256, longest.PromptConfig.Length);
        Assert.Equal(788, PromptConfig.MaxLength(ModelPresets.Get("vit-base-patch16"))); // 4 x (196 + 1)
    }
}
