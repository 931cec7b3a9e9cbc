using System.Diagnostics;
using AdaptSharp.Checkpoints;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Interop;

/// <summary>A timm-named checkpoint written by PyTorch loads, and predicts what PyTorch predicts.</summary>
public class PyTorchReferenceTests
{
    private static string RepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "AdaptSharp.sln")))
            dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("repository root not found");
    }

    /// <summary>
    /// PyTorch writes a timm-named checkpoint with a 7-class head; without --classes the class count comes from that head
    /// (as timm does), so the logits match PyTorch's. Asking for another count is refused rather than run on a random head.
    /// </summary>
    [PyTorchFact]
    public void PredictMatchesPyTorchOnATimmCheckpoint()
    {
        var dir = Directory.CreateTempSubdirectory("adapt-pt-").FullName;
        try
        {
            var script = Path.Combine(RepoRoot(), "scripts", "timm_reference.py");
            using (var p = Process.Start(new ProcessStartInfo(PyTorchFactAttribute.Python, $"{script} {dir} --depth 12 --n 3 --classes 7")
            { RedirectStandardOutput = true, RedirectStandardError = true })!)
            {
                var err = p.StandardError.ReadToEnd();
                p.WaitForExit();
                Assert.True(p.ExitCode == 0, err);
            }
            var ours = Path.Combine(dir, "ours.npy");
            string[] predict =
            [
                "predict", "--backbone", Path.Combine(dir, "model.safetensors"), "--model", "vit-tiny-patch16",
                "--img-size", "32", "--input", Path.Combine(dir, "input.npy"), "--out", ours, "--device", "cpu",
            ];
            Assert.Equal(0, AdaptSharp.Cli.Program.Main(predict));
            using var expected = NpyFile.Read(Path.Combine(dir, "logits.npy"));
            using var actual = NpyFile.Read(ours);
            Assert.Equal(new long[] { 3, 7 }, expected.shape);
            Assert.Equal(expected.shape, actual.shape);
            var diff = expected.sub(actual).abs().max().item<float>();
            // Two stacks (and BLAS builds) summing in float32 through 12 blocks: a tolerance relative to the logits.
            var scale = Math.Max(1, expected.abs().max().item<float>());
            Assert.True(diff < 1e-4 * scale, $"max logit difference {diff} at logit scale {scale}");

            var refused = Path.Combine(dir, "five.npy");
            Assert.Equal(AdaptSharp.Cli.CliRunner.UserError, AdaptSharp.Cli.Program.Main([.. predict[..^4], "--classes", "5", "--out", refused, "--device", "cpu"]));
            Assert.False(File.Exists(refused));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
