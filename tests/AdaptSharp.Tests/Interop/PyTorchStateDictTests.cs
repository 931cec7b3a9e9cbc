using System.Diagnostics;
using AdaptSharp.Checkpoints;
using AdaptSharp.Cli;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Interop;

/// <summary>
/// A PyTorch state dict (torch.save) of a timm-named ViT written by Debian's PyTorch loads through --backbone and
/// predicts PyTorch's logits; a pickle carrying a __reduce__ payload is refused without running it.
/// </summary>
public class PyTorchStateDictTests(PyTorchStateDictTests.Reference reference) : IClassFixture<PyTorchStateDictTests.Reference>
{
    /// <summary>One PyTorch run writes the files every test here reads (created only when a test runs).</summary>
    public sealed class Reference : IDisposable
    {
        public string Directory { get; } = WriteReference();

        public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
    }

    private static string RepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "AdaptSharp.sln")))
            dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("repository root not found");
    }

    private static string WriteReference()
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("adapt-pth-").FullName;
        var script = Path.Combine(RepoRoot(), "scripts", "timm_reference.py");
        using var p = Process.Start(new ProcessStartInfo(PyTorchFactAttribute.Python, $"{script} {dir} --depth 12 --n 3 --pth")
        { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, err);
        return dir;
    }

    private static (int Exit, string Error) Run(params string[] args)
    {
        var error = new StringWriter();
        var old = Console.Error;
        Console.SetError(error);
        try
        {
            return (Program.Main(args), error.ToString().TrimEnd());
        }
        finally
        {
            Console.SetError(old);
        }
    }

    [PyTorchFact]
    public void PredictOnAPthStateDictEqualsPyTorchsLogits()
    {
        var dir = reference.Directory;
        var ours = Path.Combine(dir, "predict-ours.npy");
        var (exit, error) = Run("predict", "--backbone", Path.Combine(dir, "model.pth"), "--model", "vit-tiny-patch16",
            "--img-size", "32", "--classes", "10", "--input", Path.Combine(dir, "input.npy"), "--out", ours, "--device", "cpu");
        Assert.True(exit == 0, error);
        using var expected = NpyFile.Read(Path.Combine(dir, "logits.npy"));
        using var actual = NpyFile.Read(ours);
        Assert.Equal(expected.shape, actual.shape);
        // float32 forward passes of 12 blocks in two frameworks: rounding grows with the logits' magnitude.
        var scale = expected.abs().max().item<float>();
        var diff = expected.sub(actual).abs().max().item<float>();
        Assert.True(diff <= 1e-5f * Math.Max(1f, scale) * 10, $"max logit difference {diff} (max |logit| {scale})");
    }

    [PyTorchFact]
    public void APthStateDictHasTheSameTensorsAndFingerprintAsTheSafetensorsFile()
    {
        var dir = reference.Directory;
        var fromPth = PyTorchStateDict.Read(Path.Combine(dir, "model.pth"));
        using var reader = SafetensorsReader.Open(Path.Combine(dir, "model.safetensors"));
        var fromSafetensors = reader.ReadAll();
        try
        {
            Assert.Equal(fromSafetensors.Keys.Order(), fromPth.Keys.Order());
            foreach (var (name, tensor) in fromSafetensors)
            {
                Assert.Equal(tensor.shape, fromPth[name].shape);
                Assert.True(tensor.equal(fromPth[name]).all().item<bool>(), $"tensor {name} differs");
            }
            Assert.Equal(BackboneFingerprint.Of(fromSafetensors), BackboneFingerprint.Of(fromPth));
        }
        finally
        {
            foreach (var t in fromPth.Values.Concat(fromSafetensors.Values))
                t.Dispose();
        }
    }

    [PyTorchFact]
    public void APickleWithAReducePayloadIsRefusedWithoutRunningIt()
    {
        var dir = reference.Directory;
        var evil = Path.Combine(dir, "evil.pth");
        // The message is checked on the exception (CliRunner prints it as "adapt: MESSAGE"): capturing the
        // process-wide stderr would race with other tests running in parallel.
        var refused = Assert.Throws<CheckpointFormatException>(() => PyTorchStateDict.Read(evil));
        Assert.StartsWith($"{evil}: refused", refused.Message);
        Assert.Contains("system", refused.Message);
        Assert.DoesNotContain('\n', refused.Message);
        var (exit, _) = Run("predict", "--backbone", evil, "--model", "vit-tiny-patch16", "--img-size", "32",
            "--classes", "10", "--input", Path.Combine(dir, "input.npy"), "--out", Path.Combine(dir, "evil-ours.npy"));
        Assert.Equal(CliRunner.UserError, exit);
        Assert.False(File.Exists(Path.Combine(dir, "pwned")), "the payload ran");
        Assert.False(File.Exists(Path.Combine(dir, "evil-ours.npy")));
    }
}
