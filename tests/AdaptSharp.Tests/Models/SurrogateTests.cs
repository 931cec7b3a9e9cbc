using AdaptSharp.Attacks;
using AdaptSharp.Checkpoints;
using AdaptSharp.Models;
using AdaptSharp.Tests.Attacks;
using AdaptSharp.Tests.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Models;

public sealed class SurrogateTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void SpecsParseWithOptionalPromptsAndDistinctNames()
    {
        var specs = SurrogateSpec.ParseList("dir/clean.safetensors:dir/at.safetensors, other.safetensors");
        Assert.Equal([new SurrogateSpec("dir/clean.safetensors", "dir/at.safetensors"), new SurrogateSpec("other.safetensors", null)], specs);
        Assert.Equal(["clean+at", "other"], specs.Select(s => s.Name));
        Assert.Throws<ArgumentException>(() => SurrogateSpec.ParseList(""));
        Assert.Throws<ArgumentException>(() => SurrogateSpec.ParseList("a.safetensors,,b.safetensors"));
        Assert.Throws<ArgumentException>(() => SurrogateSpec.ParseList("a.safetensors:"));
        var e = Assert.Throws<ArgumentException>(() => SurrogateSpec.ParseList("x/a.safetensors,y/a.safetensors"));
        Assert.Contains("'a'", e.Message);
    }

    [Fact]
    public void ASurrogateOfHalfTheInputSizeSeesTheTwoByTwoBlockMeans()
    {
        using var scope = NewDisposeScope();
        var model = new VisionTransformer(TinyVit.Config(classes: 4, imageSize: 4, patchSize: 2, channels: 1), PromptConfig.Parse("deep:2"), seed: 7);
        using var surrogate = new SurrogateModel("half", model);
        var x = TinyVit.Images(TinyVit.Config(imageSize: 8, channels: 1), n: 3, seed: 5);

        // bilinear resizing by 1/2 (align_corners false) samples between pixels 2i and 2i+1: the 2x2 block mean
        var pixels = x.to_type(ScalarType.Float64).data<double>().ToArray();
        var means = new float[3 * 4 * 4];
        for (var n = 0; n < 3; n++)
            for (var i = 0; i < 4; i++)
                for (var j = 0; j < 4; j++)
                {
                    double At(int r, int c) => pixels[n * 64 + r * 8 + c];
                    means[n * 16 + i * 4 + j] = (float)((At(2 * i, 2 * j) + At(2 * i, 2 * j + 1) + At(2 * i + 1, 2 * j) + At(2 * i + 1, 2 * j + 1)) / 4);
                }
        using var _ = no_grad();
        var expected = model.Forward(tensor(means).reshape(3, 1, 4, 4), usePrompts: true);
        var found = surrogate.View.Forward(x);
        Assert.Equal("transfer:half", surrogate.View.Name);
        var scale = expected.abs().max().ToDouble();
        Assert.True((found - expected).abs().max().ToDouble() <= 1e-5 * Math.Max(scale, 1), "resized logits differ");
        Assert.Throws<ArgumentException>(() => surrogate.Forward(rand(1, 3, 8, 8)));
    }

    [Fact]
    public void TheEnsembleAveragesItsMembersLogitsAndPassesGradients()
    {
        using var scope = NewDisposeScope();
        var a = TinyModels.Linear(tensor(new float[] { 1, 0, 0, 2 }).reshape(2, 2), tensor(new float[] { 0, 1 }));
        var b = TinyModels.Linear(tensor(new float[] { -1, 3, 0, 0 }).reshape(2, 2), tensor(new float[] { 2, 0 }));
        var ensemble = SurrogateEnsemble.Average([a, b]);
        Assert.Equal("transfer:ensemble", ensemble.Name);
        var x = tensor(new float[] { 0.5f, 0.25f }).reshape(1, 1, 1, 2);
        x.requires_grad_(true);
        var z = ensemble.Forward(x);
        // a: (0.5, 1.5), b: (2.25, 0) -> mean (1.375, 0.75)
        Assert.Equal([1.375f, 0.75f], z.detach().data<float>().ToArray());
        var g = autograd.grad(new[] { z[0, 0] }, new[] { x })[0];
        // d z0 / dx = mean of the members' first rows: ((1 - 1) / 2, (0 + 3) / 2)
        Assert.Equal([0f, 1.5f], g.data<float>().ToArray());
        Assert.Throws<ArgumentException>(() => SurrogateEnsemble.Average([]));

        var config = TinyVit.Config(classes: 4, channels: 1);
        using var one = new SurrogateModel("one", new VisionTransformer(config, seed: 1));
        using var two = new SurrogateModel("two", new VisionTransformer(config, seed: 2));
        Assert.Equal(["transfer:one"], SurrogateEnsemble.Sources([one]).Select(v => v.Name));
        Assert.Equal(["transfer:one", "transfer:two", "transfer:ensemble"], SurrogateEnsemble.Sources([one, two]).Select(v => v.Name));
    }

    [Fact]
    public void TheTargetItselfAsSurrogateGivesExactlyItsLogits()
    {
        using var scope = NewDisposeScope();
        var (backbone, prompts, target) = PromptedTarget(classes: 4);
        using var _ = target;
        using var surrogate = SurrogateLoader.Load(new SurrogateSpec(backbone, prompts), null, target.Config, CPU);
        var x = TinyVit.Images(target.Config, n: 5);
        using var noGrad = no_grad();
        Assert.True(TinyVit.SameValues(target.Prompted.Forward(x), surrogate.View.Forward(x)));
        Assert.Equal("backbone+prompts", surrogate.Name);
        Assert.DoesNotContain(surrogate.Model.parameters(), p => p.requires_grad);
    }

    [Fact]
    public void SurrogatesThatCannotStandInForTheTargetAreRefusedNamingTheFile()
    {
        var (backbone, prompts, target) = PromptedTarget(classes: 4);
        using var _ = target;

        var rgb = temp.File("rgb.safetensors");
        using (var m = new VisionTransformer(TinyVit.Config(classes: 4, channels: 3), seed: 2))
            BackboneFile.Save(rgb, m);
        var e = Assert.Throws<CheckpointFormatException>(() => SurrogateLoader.Load(new SurrogateSpec(rgb, null), null, target.Config, CPU));
        Assert.Contains(rgb, e.Message);
        Assert.Contains("3-channel", e.Message);

        var other = temp.File("other.safetensors");
        using (var m = new VisionTransformer(TinyVit.Config(classes: 4, channels: 1), seed: 5))
            BackboneFile.Save(other, m);
        e = Assert.Throws<CheckpointFormatException>(() => SurrogateLoader.Load(new SurrogateSpec(other, prompts), null, target.Config, CPU));
        Assert.Contains(prompts, e.Message);

        var sevenClasses = temp.File("seven.safetensors");
        using (var m = new VisionTransformer(TinyVit.Config(classes: 7, channels: 1), seed: 2))
            BackboneFile.Save(sevenClasses, m);
        e = Assert.Throws<CheckpointFormatException>(() => SurrogateLoader.Load(new SurrogateSpec(sevenClasses, null), null, target.Config, CPU));
        Assert.Contains("7 classes", e.Message);

        // a raw timm file: needs --surrogate-model; its head decides the classes; without a head it is refused
        var raw = temp.File("raw.safetensors");
        var headless = temp.File("headless.safetensors");
        var preset = ModelPresets.Get(ModelPresets.SmallCpuPreset, numClasses: 10);
        using (var m = new VisionTransformer(preset, seed: 2))
        {
            var state = TimmCheckpoint.ExportState(m);
            SafetensorsWriter.Write(raw, state);
            SafetensorsWriter.Write(headless, state.Where(kv => !kv.Key.StartsWith("head.", StringComparison.Ordinal)));
        }
        var presetTarget = preset with { NumClasses = 7 };
        e = Assert.Throws<CheckpointFormatException>(() => SurrogateLoader.Load(new SurrogateSpec(raw, null), null, presetTarget, CPU));
        Assert.Contains("--surrogate-model", e.Message);
        e = Assert.Throws<CheckpointFormatException>(() => SurrogateLoader.Load(new SurrogateSpec(raw, null), ModelPresets.SmallCpuPreset, presetTarget, CPU));
        Assert.Contains("10 classes", e.Message);
        e = Assert.Throws<CheckpointFormatException>(() => SurrogateLoader.Load(new SurrogateSpec(headless, null), ModelPresets.SmallCpuPreset, preset, CPU));
        Assert.Contains("no classification head", e.Message);
        using var fits = SurrogateLoader.Load(new SurrogateSpec(raw, null), ModelPresets.SmallCpuPreset, preset, CPU);
        Assert.Equal(10, fits.Model.Config.NumClasses);
    }

    [Fact]
    public void TransferFromTheTargetItselfMatchesTheAdaptiveAttackAndFromARandomSurrogateIsWeaker()
    {
        using var scope = NewDisposeScope();
        var (backbone, prompts, target) = PromptedTarget(classes: 4);
        using var _ = target;
        var x = TinyVit.Images(target.Config, n: 16, seed: 21);
        var y = TinyModels.Predict(target.Prompted, x);
        var threat = ThreatModel.LInf(0.1);
        bool[] Robust(ModelView generating)
        {
            var adv = new Pgd(threat, new PgdOptions(5), seed: 3).Perturb(generating, x, y);
            threat.Validate(adv, x);
            return TinyModels.Predict(target.Prompted, adv).eq(y).data<bool>().ToArray();
        }

        var adaptive = Robust(target.Prompted);
        using var itself = SurrogateLoader.Load(new SurrogateSpec(backbone, prompts), null, target.Config, CPU);
        Assert.Equal(adaptive, Robust(itself.View));

        var randomPath = temp.File("random.safetensors");
        using (var m = new VisionTransformer(TinyVit.Config(classes: 4, channels: 1, imageSize: 4, patchSize: 2), seed: 99))
            BackboneFile.Save(randomPath, m);
        using var random = SurrogateLoader.Load(new SurrogateSpec(randomPath, null), null, target.Config, CPU);
        var transfer = Robust(random.View);
        Assert.True(adaptive.Count(r => r) < adaptive.Length / 2, "the adaptive attack should break most points");
        Assert.True(transfer.Count(r => r) >= adaptive.Count(r => r),
            $"transfer from a random surrogate {transfer.Count(r => r)} vs adaptive {adaptive.Count(r => r)} robust points");
        var ensemble = Robust(SurrogateEnsemble.Average([itself.View, random.View]));
        Assert.True(ensemble.Count(r => r) >= adaptive.Count(r => r));
    }

    /// <summary>A 1-channel backbone file and a prompt file (prompts + head) tuned on it, and the prompted model.</summary>
    private (string Backbone, string Prompts, VisionTransformer Model) PromptedTarget(int classes)
    {
        var config = TinyVit.Config(classes: classes, channels: 1);
        var backbonePath = temp.File("backbone.safetensors");
        using (var pretrained = new VisionTransformer(config, seed: 1))
        {
            TinyVit.Perturb(pretrained, 2);
            BackboneFile.Save(backbonePath, pretrained);
        }
        var loaded = BackboneFile.Load(backbonePath, prompts: PromptConfig.Parse("deep:2"), seed: 3);
        var model = loaded.Model;
        TinyVit.Perturb(model, 4);
        var promptsPath = temp.File("prompts.safetensors");
        PromptFile.Save(promptsPath, model, new PromptFileInfo
        {
            BackboneFingerprint = loaded.Fingerprint,
            Trainable = TrainableSet.Prompts | TrainableSet.Head,
        });
        // the target as evaluated: the backbone with the file's prompts and head (Perturb moved the rest too)
        model.Dispose();
        var target = ModelLoader.Load(new ModelRequest(backbonePath, null, Prompts: promptsPath), CPU).Model;
        target.eval();
        return (backbonePath, promptsPath, target);
    }
}
