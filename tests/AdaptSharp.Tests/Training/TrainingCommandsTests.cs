using System.Buffers.Binary;
using AdaptSharp.Checkpoints;
using AdaptSharp.Cli;
using AdaptSharp.Training;

namespace AdaptSharp.Tests.Training;

/// <summary>adapt pretrain -> adapt tune -> adapt plot on a tiny MNIST-format folder, through the CLI entry point.</summary>
public sealed class TrainingCommandsTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "adapt-cli-train-" + Guid.NewGuid().ToString("N"));

    public TrainingCommandsTests()
    {
        Directory.CreateDirectory(folder);
        WriteIdx("train", 96, seed: 1);
        WriteIdx("t10k", 32, seed: 2);
    }

    public void Dispose()
    {
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
    }

    // 28x28 grey images: class c (0..3) lights up quadrant c.
    private void WriteIdx(string prefix, int count, int seed)
    {
        var rng = new Random(seed);
        var images = new byte[16 + count * 784];
        BinaryPrimitives.WriteInt32BigEndian(images, 0x803);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(8), 28);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(12), 28);
        var labels = new byte[8 + count];
        BinaryPrimitives.WriteInt32BigEndian(labels, 0x801);
        BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(4), count);
        for (var i = 0; i < count; i++)
        {
            var c = i % 4;
            labels[8 + i] = (byte)c;
            for (var p = 0; p < 784; p++)
            {
                var quadrant = (p / 28 / 14) * 2 + p % 28 / 14;
                images[16 + i * 784 + p] = (byte)Math.Clamp(40 + (quadrant == c ? 160 : 0) + rng.Next(-30, 31), 0, 255);
            }
        }
        File.WriteAllBytes(Path.Combine(folder, $"{prefix}-images-idx3-ubyte"), images);
        File.WriteAllBytes(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte"), labels);
    }

    private static int Adapt(params string[] args) => Program.Main(args);

    [Fact]
    public void PretrainThenTuneThenPlot()
    {
        var data = $"mnist:{folder}";
        var backbone = Path.Combine(folder, "backbone.safetensors");
        Assert.Equal(0, Adapt("pretrain", "--data", data, "--epochs", "1", "--batch-size", "32", "--eval-points", "16", "--out", backbone));
        Assert.True(File.Exists(backbone));
        Assert.NotNull(BackboneFile.ReadConfig(backbone));

        var prompts = Path.Combine(folder, "prompts.safetensors");
        var run = Path.Combine(folder, "tune-run");
        string[] tune = ["tune", "--backbone", backbone, "--data", data, "--method", "adapt-kl", "--prompt-layout", "shallow:2", "--epochs", "1",
            "--batch-size", "32", "--steps", "2", "--eval-points", "16", "--eval-agnostic", "--out", prompts, "--run-dir", run];
        Assert.Equal(0, Adapt(tune));
        var info = PromptFile.ReadInfo(prompts);
        Assert.Equal(BackboneFingerprint.OfFile(backbone), info.BackboneFingerprint);
        Assert.Contains("adapt-kl", info.Method);
        Assert.True(File.Exists(Path.Combine(run, TrainingJob.ConfigFileName)));
        var metrics = EpochMetrics.ReadFile(Path.Combine(run, Trainer.MetricsFileName));
        Assert.Single(metrics);
        Assert.NotNull(metrics[0].EvalPromptAgnosticAccuracy);

        // The run folder holds a checkpoint: a second run must not silently overwrite it.
        Assert.Equal(CliRunner.UserError, Adapt(tune));

        var png = Path.Combine(folder, "curves.png");
        Assert.Equal(0, Adapt("plot", run, "--out", png));
        var header = File.ReadAllBytes(png).Take(8).ToArray();
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, header);
    }

    [Fact]
    public void BadInputGivesAUserError()
    {
        var data = $"mnist:{folder}";
        Assert.Equal(CliRunner.UserError, Adapt("tune", "--data", data, "--method", "pgd", "--out", Path.Combine(folder, "x.safetensors")));
        Assert.Equal(CliRunner.UserError, Adapt("tune", "--data", data, "--out", Path.Combine(folder, "x.safetensors")));
        Assert.Equal(CliRunner.UserError, Adapt("tune", "--data", data, "--backbone", Path.Combine(folder, "missing.safetensors"), "--out", Path.Combine(folder, "x.safetensors")));
        Assert.Equal(CliRunner.UserError, Adapt("plot", Path.Combine(folder, "no-run")));
        Assert.Equal(CliRunner.UserError, Adapt("pretrain", "--data", data, "--schedule", "warp", "--out", Path.Combine(folder, "b.safetensors")));
        Assert.Equal(CliRunner.UserError, Adapt("info", "--model", "vit-fmnist-cpu-d8", "--images", "100", "--gflops", "fast"));
        Assert.Equal(CliRunner.UserError, Adapt("info", "--model", "vit-fmnist-cpu-d8", "--images", "0"));
        Assert.Equal(CliRunner.UserError, Adapt("study", "--plan", "mini", "--runs", "no-such-run", "--data", folder));
        Assert.Equal(0, Adapt("info", "--model", "vit-fmnist-cpu-d8", "--prompt-layout", "deep:4", "--images", "100", "--epochs", "2", "--gflops", "100"));
    }
}
