using AdaptSharp.Checkpoints;
using AdaptSharp.Models;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Checkpoints;

public sealed class TimmCheckpointTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    private static string[] TimmNames(int depth, bool head)
    {
        var names = new List<string> { "cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias", "norm.weight", "norm.bias" };
        for (var i = 0; i < depth; i++)
        {
            foreach (var part in new[] { "norm1", "attn.qkv", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2" })
            {
                names.Add($"blocks.{i}.{part}.weight");
                names.Add($"blocks.{i}.{part}.bias");
            }
        }
        if (head)
            names.AddRange(["head.weight", "head.bias"]);
        return names.Order(StringComparer.Ordinal).ToArray();
    }

    private string SaveRaw(string name, Dictionary<string, Tensor> state)
    {
        var path = temp.File(name);
        SafetensorsWriter.Write(path, state);
        return path;
    }

    private static Dictionary<string, Tensor> StateOf(VitConfig config, long seed, PromptConfig? prompts = null)
    {
        using var model = new VisionTransformer(config, prompts, seed);
        TinyVit.Perturb(model, seed + 100);
        return TimmCheckpoint.ExportState(model);
    }

    [Fact]
    public void ExportUsesExactlyTimmNames()
    {
        using var model = new VisionTransformer(TinyVit.Config(), PromptConfig.Parse("deep:3"));
        var state = TimmCheckpoint.ExportState(model);
        Assert.Equal(TimmNames(2, head: true), state.Keys.Order(StringComparer.Ordinal));
        Assert.All(state.Values, t => Assert.Equal(ScalarType.Float32, t.dtype));
        Assert.Equal(new long[] { 48, 16 }, state["blocks.0.attn.qkv.weight"].shape);
        Assert.Equal(new long[] { 1, 5, 16 }, state["pos_embed"].shape);
    }

    [Fact]
    public void BackboneFileRoundTripGivesIdenticalOutputs()
    {
        var config = TinyVit.Config();
        using var source = new VisionTransformer(config, seed: 3);
        TinyVit.Perturb(source, 4);
        var path = temp.File("backbone.safetensors");
        var fingerprint = BackboneFile.Save(path, source, new Dictionary<string, string> { ["note"] = "hello" });

        Assert.Equal(config, BackboneFile.ReadConfig(path));
        using var loaded = BackboneFile.Load(path, seed: 99);
        Assert.True(loaded.Report.IsExact, loaded.Report.ToString());
        Assert.Equal(TimmNames(2, head: true).Length, loaded.Report.LoadedCount);
        Assert.Equal(fingerprint, loaded.Fingerprint);
        Assert.Equal(fingerprint, BackboneFingerprint.OfFile(path));
        Assert.Equal("hello", loaded.Metadata["note"]);
        Assert.Equal("pt", loaded.Metadata[CheckpointMetadata.Format]);

        using var x = TinyVit.Images(config);
        using var expected = source.forward(x);
        using var actual = loaded.Model.forward(x);
        Assert.True(TinyVit.SameValues(expected, actual));
    }

    [Fact]
    public void PlainTimmFileNeedsAConfigAndThenImports()
    {
        var config = TinyVit.Config();
        var path = SaveRaw("timm.safetensors", StateOf(config, 5));
        Assert.Null(BackboneFile.ReadConfig(path));
        var error = Assert.Throws<CheckpointFormatException>(() => BackboneFile.Load(path));
        Assert.Contains("plain timm file", error.Message);

        using var loaded = BackboneFile.Load(path, config, PromptConfig.Parse("shallow:2"), seed: 1);
        Assert.True(loaded.Report.IsExact);
        // Prompts keep their own initialisation: the import does not touch them.
        using var fresh = new VisionTransformer(config, PromptConfig.Parse("shallow:2"), seed: 1);
        Assert.True(TinyVit.SameValues(fresh.PromptTokens!, loaded.Model.PromptTokens!));
    }

    [Fact]
    public void MissingHeadIsReinitialisedAndReported()
    {
        var config = TinyVit.Config();
        using var source = new VisionTransformer(config with { NumClasses = 0 }, seed: 3);
        TinyVit.Perturb(source, 4);
        var path = temp.File("headless.safetensors");
        BackboneFile.Save(path, source);

        using var loaded = BackboneFile.Load(path, config, seed: 8);
        Assert.Equal(["head.bias", "head.weight"], loaded.Report.Reinitialised.Select(n => n.Tensor).Order());
        Assert.All(loaded.Report.Reinitialised, n => Assert.Contains("no head", n.Detail));
        Assert.Empty(loaded.Report.Resampled);
        Assert.Contains(loaded.Report.Lines(), l => l.StartsWith("re-initialised head.weight"));

        using var x = TinyVit.Images(config);
        using var expected = source.ForwardFeatures(x, false);
        using var features = loaded.Model.ForwardFeatures(x, false);
        Assert.True(TinyVit.SameValues(expected, features));
        using var logits = loaded.Model.forward(x);
        Assert.Equal(new long[] { 4, 5 }, logits.shape);
    }

    [Fact]
    public void DifferentClassCountReinitialisesHead()
    {
        var path = SaveRaw("five.safetensors", StateOf(TinyVit.Config(classes: 5), 2));
        using var model = new VisionTransformer(TinyVit.Config(classes: 7), seed: 1);
        var report = TimmCheckpoint.Import(model, path, seed: 4);
        Assert.Equal(2, report.Reinitialised.Count);
        Assert.Contains("checkpoint head 5 classes -> new 7-class head", report.Reinitialised[0].Detail);
        Assert.Equal(new long[] { 7, 16 }, model.Head!.weight!.shape);
    }

    [Fact]
    public void HeadOnAHeadlessModelIsDropped()
    {
        var path = SaveRaw("head.safetensors", StateOf(TinyVit.Config(classes: 5), 2));
        using var model = new VisionTransformer(TinyVit.Config(classes: 0));
        var report = TimmCheckpoint.Import(model, path);
        Assert.Equal(["head.bias", "head.weight"], report.Dropped.Select(n => n.Tensor).Order());
        Assert.Empty(report.Reinitialised);
    }

    [Fact]
    public void PositionEmbeddingIsResampledForAnotherImageSize()
    {
        var state = StateOf(TinyVit.Config(imageSize: 16), 2); // grid 4x4
        var path = SaveRaw("grid4.safetensors", state);
        using var model = new VisionTransformer(TinyVit.Config(imageSize: 8)); // grid 2x2
        var report = TimmCheckpoint.Import(model, path);
        var note = Assert.Single(report.Resampled);
        Assert.Equal("pos_embed", note.Tensor);
        Assert.Contains("4x4 -> 2x2", note.Detail);
        using var expected = VitResampling.PositionEmbedding(state["pos_embed"], 2);
        var actual = model.state_dict()["pos_embed"];
        Assert.True(TinyVit.SameValues(expected, actual));
        Assert.True(TinyVit.SameValues(state["pos_embed"][0, 0], actual[0, 0]));
    }

    [Fact]
    public void PatchKernelIsResampledForAnotherPatchSize()
    {
        var state = StateOf(TinyVit.Config(imageSize: 8, patchSize: 4), 2);
        var path = SaveRaw("patch4.safetensors", state);
        using var model = new VisionTransformer(TinyVit.Config(imageSize: 4, patchSize: 2)); // same 2x2 grid
        var report = TimmCheckpoint.Import(model, path);
        var note = Assert.Single(report.Resampled);
        Assert.Equal("patch_embed.proj.weight", note.Tensor);
        Assert.Equal(new long[] { 16, 3, 2, 2 }, model.state_dict()["patch_embed.proj.weight"].shape);
        using var x = TinyVit.Images(model.Config);
        using var logits = model.forward(x);
        Assert.False(logits.isnan().any().item<bool>());
    }

    private CheckpointFormatException Refused(VisionTransformer model, Dictionary<string, Tensor> state, string name = "bad.safetensors")
    {
        var path = SaveRaw(name, state);
        using var x = TinyVit.Images(model.Config);
        using var before = model.forward(x);
        var error = Assert.Throws<CheckpointFormatException>(() => TimmCheckpoint.Import(model, path));
        Assert.StartsWith(path + ": ", error.Message);
        Assert.DoesNotContain('\n', error.Message);
        using var after = model.forward(x);
        Assert.True(TinyVit.SameValues(before, after)); // a refused import changes nothing
        return error;
    }

    [Fact]
    public void ChannelMismatchIsRefusedNotResampled()
    {
        using var model = new VisionTransformer(TinyVit.Config(channels: 1));
        var error = Refused(model, StateOf(TinyVit.Config(channels: 3), 2));
        Assert.Contains("patch_embed.proj.weight", error.Message);
        Assert.Contains("3 input channels", error.Message);
        Assert.Contains("takes 1", error.Message);
    }

    [Fact]
    public void MissingTensorIsNamed()
    {
        using var model = new VisionTransformer(TinyVit.Config());
        var state = StateOf(TinyVit.Config(), 2);
        state.Remove("blocks.1.mlp.fc2.weight");
        Assert.Contains("missing tensor 'blocks.1.mlp.fc2.weight'", Refused(model, state).Message);
    }

    [Fact]
    public void DepthMismatchIsExplained()
    {
        using var deeper = new VisionTransformer(TinyVit.Config(depth: 3));
        var error = Refused(deeper, StateOf(TinyVit.Config(depth: 2), 2));
        Assert.Contains("missing tensor 'blocks.2.", error.Message);
        Assert.Contains("has 2 blocks", error.Message);

        using var shallower = new VisionTransformer(TinyVit.Config(depth: 1));
        error = Refused(shallower, StateOf(TinyVit.Config(depth: 2), 2), "deep.safetensors");
        Assert.Contains("unexpected tensor 'blocks.1.", error.Message);
        Assert.Contains("depth 1", error.Message);
    }

    [Fact]
    public void UnexpectedTensorsAreRefusedWithAReason()
    {
        using var model = new VisionTransformer(TinyVit.Config());
        var state = StateOf(TinyVit.Config(), 2);
        state["fc_norm.weight"] = ones(16);
        Assert.Contains("global_pool='avg'", Refused(model, state).Message);
        state.Remove("fc_norm.weight");
        state["something_else"] = ones(1);
        Assert.Contains("unexpected tensor 'something_else'", Refused(model, state, "other.safetensors").Message);
    }

    [Fact]
    public void WrongShapeIsRefusedNamingTheTensor()
    {
        using var model = new VisionTransformer(TinyVit.Config());
        var state = StateOf(TinyVit.Config(), 2);
        state["blocks.0.attn.qkv.weight"] = zeros(48, 8);
        var error = Refused(model, state);
        Assert.Contains("'blocks.0.attn.qkv.weight' has shape [48,8]", error.Message);
        Assert.Contains("expects [48,16]", error.Message);
    }

    [Fact]
    public void HalfPrecisionCheckpointsImport()
    {
        var config = TinyVit.Config();
        var state = StateOf(config, 2);
        var halves = state.ToDictionary(kv => kv.Key, kv => kv.Value.to_type(ScalarType.BFloat16));
        var path = SaveRaw("bf16.safetensors", halves);
        using var model = new VisionTransformer(config);
        var report = TimmCheckpoint.Import(model, path);
        Assert.True(report.IsExact);
        Assert.Equal(BackboneFingerprint.Of(halves), report.Fingerprint);
        Assert.NotEqual(BackboneFingerprint.Of(state), report.Fingerprint);
        using var expected = halves["norm.weight"].to_type(ScalarType.Float32);
        Assert.True(TinyVit.SameValues(expected, model.state_dict()["norm.weight"]));
    }

    [Fact]
    public void PromptFileIsNotABackbone()
    {
        var config = TinyVit.Config();
        using var model = new VisionTransformer(config, PromptConfig.Parse("deep:2"));
        var path = temp.File("p.safetensors");
        PromptFile.Save(path, model, new PromptFileInfo { BackboneFingerprint = "abc" });
        var error = Assert.Throws<CheckpointFormatException>(() => BackboneFile.Load(path, config));
        Assert.Contains("not a backbone", error.Message);
        Assert.Contains("not a backbone", Assert.Throws<CheckpointFormatException>(() => TimmCheckpoint.Import(model, path)).Message);
    }

    [Fact]
    public void BadStoredConfigOrNewerFormatIsRefused()
    {
        var state = StateOf(TinyVit.Config(), 2);
        var badJson = temp.File("json.safetensors");
        SafetensorsWriter.Write(badJson, state, new Dictionary<string, string> { [CheckpointMetadata.Config] = "{\"Width\":" });
        Assert.Contains("bad model config", Assert.Throws<CheckpointFormatException>(() => BackboneFile.ReadConfig(badJson)).Message);

        var invalid = temp.File("invalid.safetensors");
        SafetensorsWriter.Write(invalid, state, new Dictionary<string, string> { [CheckpointMetadata.Config] = (TinyVit.Config() with { Heads = 3 }).ToJson() });
        Assert.Contains("not divisible by heads", Assert.Throws<CheckpointFormatException>(() => BackboneFile.Load(invalid)).Message);

        var newer = temp.File("newer.safetensors");
        SafetensorsWriter.Write(newer, state, new Dictionary<string, string> { [CheckpointMetadata.FormatVersion] = "2" });
        Assert.Contains("format version 2", Assert.Throws<CheckpointFormatException>(() => BackboneFile.ReadConfig(newer)).Message);
    }

    [Fact]
    public void StoredConfigCanBeOverriddenForAnotherInputAndClassCount()
    {
        var path = temp.File("b16.safetensors");
        using (var source = new VisionTransformer(TinyVit.Config(imageSize: 16), seed: 1))
            BackboneFile.Save(path, source);
        var config = BackboneFile.ReadConfig(path)! with { ImageSize = 8, NumClasses = 3 };
        using var loaded = BackboneFile.Load(path, config);
        Assert.Equal("pos_embed", Assert.Single(loaded.Report.Resampled).Tensor);
        Assert.Equal(2, loaded.Report.Reinitialised.Count);
        Assert.Equal(config, loaded.Model.Config);
    }
}
