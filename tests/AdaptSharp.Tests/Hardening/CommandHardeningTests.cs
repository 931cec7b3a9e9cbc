using System.Security.Cryptography;
using AdaptSharp.Checkpoints;
using AdaptSharp.Cli;
using AdaptSharp.IO;
using AdaptSharp.Models;
using AdaptSharp.Tests.Checkpoints;
using AdaptSharp.Tests.Data;
using AdaptSharp.Training;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Hardening;

/// <summary>Issue 12 section 1 through the `adapt` entry point: flags, outputs, resume, divergence.</summary>
public sealed class CommandHardeningTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("adapt-cmd-").FullName;
    private readonly string data;
    private readonly string backbone;
    private readonly string promptFile;
    private readonly string input;

    public CommandHardeningTests()
    {
        data = "mnist:" + DataFiles.IdxDataset(trainCount: 24, testCount: 8, gzip: false, size: 8);
        using var model = new VisionTransformer(TinyVit.Config(classes: 10, channels: 1), PromptConfig.Parse("deep:2"), seed: 1);
        TinyVit.Perturb(model, 2);
        backbone = Path.Combine(dir, "backbone.safetensors");
        promptFile = Path.Combine(dir, "prompts.safetensors");
        var fingerprint = BackboneFile.Save(backbone, model);
        PromptFile.Save(promptFile, model, new PromptFileInfo { BackboneFingerprint = fingerprint, Trainable = TrainableSet.Prompts | TrainableSet.Head });
        input = Path.Combine(dir, "x.npy");
        using var x = rand(3, 1, 8, 8, generator: new Generator(3));
        NpyFile.Write(input, x);
    }

    public void Dispose()
    {
        Directory.Delete(dir, recursive: true);
        Directory.Delete(data["mnist:".Length..], recursive: true);
    }

    private string P(string name) => Path.Combine(dir, name);

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>Runs adapt and returns the exit code and what it wrote to stderr (other tests may add lines: assert with Contains).</summary>
    private static (int Exit, string Error) Adapt(params string[] args)
    {
        var error = new StringWriter();
        var old = Console.Error;
        Console.SetError(error);
        try
        {
            return (Program.Main(args), error.ToString());
        }
        finally
        {
            Console.SetError(old);
        }
    }

    [Theory]
    [InlineData("--lr", "tune --lr abc")]
    [InlineData("--lr", "tune --lr 0")]
    [InlineData("--lr", "tune --lr inf")]
    [InlineData("--limit", "tune --limit 0")]
    [InlineData("--limit", "tune --limit 2147483648")]
    [InlineData("--momentum", "tune --momentum 2")]
    [InlineData("--momentum", "tune --momentum 1")]
    [InlineData("--clip", "tune --clip -1")]
    [InlineData("--clip", "tune --clip nan")]
    [InlineData("--weight-decay", "pretrain --weight-decay -0.1")]
    [InlineData("--epochs", "pretrain --epochs 0")]
    [InlineData("--lambda", "tune --lambda -1")]
    [InlineData("--limit", "data inspect fashion-mnist --limit 0")]
    [InlineData("--per-class", "data inspect fashion-mnist --per-class 0")]
    [InlineData("--width", "plot run --width 100000")]
    [InlineData("--height", "plot run --height 10")]
    [InlineData("--classes", "predict --input x.npy --classes -1")]
    [InlineData("--img-size", "eval --data fashion-mnist --out o --img-size 0")]
    [InlineData("--limit", "eval --data fashion-mnist --out o --limit 0")]
    [InlineData("--batch-size", "predict --input x.npy --batch-size 0")]
    [InlineData("--jobs", "demo --jobs 0")]
    [InlineData("--prompt-layout", "tune --prompts deep:4")]
    [InlineData("--prompt-layout", "info --model vit-fmnist-cpu --prompts none")]
    [InlineData("--prompt-layout", "info --model vit-fmnist-cpu --prompt-layout deep:x")]
    public void BadFlagsAreOneAdaptLineWithoutTypeNames(string flag, string command)
    {
        var args = command.Split(' ');
        var parsed = Program.CreateRoot().Parse(args);
        Assert.NotEmpty(parsed.Errors);
        var line = CliRunner.ParseErrorLine(parsed.Errors[0].Message);
        Assert.Contains(flag, line);
        Assert.DoesNotContain("System.", line);
        Assert.DoesNotContain('\n', line);
        var (exit, error) = Adapt(args);
        Assert.Equal(CliRunner.UserError, exit);
        Assert.Contains("adapt: " + line, error);
    }

    [Fact]
    public void NoCommandOverwritesItsOwnInputsOrAFileItDidNotCreate()
    {
        var inputs = new[] { backbone, promptFile, input };
        var before = inputs.Select(Hash).ToList();
        Assert.Equal(CliRunner.UserError, Adapt("predict", "--backbone", backbone, "--input", input, "--out", backbone).Exit);
        Assert.Equal(CliRunner.UserError, Adapt("predict", "--backbone", backbone, "--prompts", promptFile, "--input", input, "--out", promptFile, "--force").Exit);
        Assert.Equal(CliRunner.UserError, Adapt("predict", "--backbone", backbone, "--input", input, "--out", input, "--force").Exit);
        Assert.Equal(CliRunner.UserError, Adapt("tune", "--backbone", backbone, "--data", data, "--out", backbone, "--force").Exit);
        Assert.Equal(CliRunner.UserError, Adapt("pretrain", "--backbone", backbone, "--data", data, "--out", backbone, "--force").Exit);
        Assert.Equal(before, inputs.Select(Hash).ToList());

        // A file the command did not create needs --force: predict --out, data inspect --grid, plot --out.
        var mine = P("mine.bin");
        File.WriteAllText(mine, "the user's own file");
        var (exit, error) = Adapt("predict", "--backbone", backbone, "--input", input, "--out", mine);
        Assert.Equal(CliRunner.UserError, exit);
        Assert.Contains("--force", error);
        Assert.Equal(CliRunner.UserError, Adapt("data", "inspect", data, "--grid", mine).Exit);
        var run = Directory.CreateDirectory(P("run")).FullName;
        var metrics = Path.Combine(run, Trainer.MetricsFileName);
        File.WriteAllText(metrics, new EpochMetrics { Epoch = 1, TrainLoss = 1 }.ToJsonLine() + "\n");
        Assert.Equal(CliRunner.UserError, Adapt("plot", run, "--out", mine).Exit);
        Assert.Equal(CliRunner.UserError, Adapt("plot", run, "--out", metrics, "--force").Exit);
        Assert.Equal("the user's own file", File.ReadAllText(mine));
        Assert.Equal(new EpochMetrics { Epoch = 1, TrainLoss = 1 }.ToJsonLine() + "\n", File.ReadAllText(metrics));

        Assert.Equal(0, Adapt("predict", "--backbone", backbone, "--input", input, "--out", mine, "--force", "--device", "cpu").Exit);
        using (var logits = NpyFile.Read(mine))
            Assert.Equal(new long[] { 3, 10 }, logits.shape);
    }

    [Fact]
    public void EvalChecksItsOutputBeforeDoingAnyWork()
    {
        var existing = P("report.txt");
        File.WriteAllText(existing, "x");
        // The data does not exist: a command that loaded the data first would complain about it, not about --out.
        var (exit, error) = Adapt("eval", "--backbone", backbone, "--data", "mnist:" + P("no-such-data"), "--out", existing);
        Assert.Equal(CliRunner.UserError, exit);
        Assert.Contains($"--out {existing} is a file", error);
        Assert.Equal("x", File.ReadAllText(existing));

        var folder = Directory.CreateDirectory(P("eval-out")).FullName;
        File.WriteAllText(Path.Combine(folder, "report.md"), "my notes");
        (exit, error) = Adapt("eval", "--backbone", backbone, "--data", "mnist:" + P("no-such-data"), "--out", folder);
        Assert.Equal(CliRunner.UserError, exit);
        Assert.Contains("--force", error);
        Assert.Equal("my notes", File.ReadAllText(Path.Combine(folder, "report.md")));
    }

    [Fact]
    public void StaleTempFilesOfOurOwnNamingAreCleanedOnTheNextWrite()
    {
        var output = P("y.npy");
        var stale = P($".y.npy.{Guid.NewGuid():N}.tmp");
        var live = P($".y.npy.{Guid.NewGuid():N}.tmp");
        var foreign = P(".y.npy.backup.tmp");
        var other = P($".z.npy.{Guid.NewGuid():N}.tmp");
        foreach (var f in new[] { stale, live, foreign, other })
        {
            File.WriteAllText(f, "partial");
            File.SetLastWriteTimeUtc(f, DateTime.UtcNow.AddHours(-1));
        }
        File.SetLastWriteTimeUtc(live, DateTime.UtcNow.AddHours(1)); // newer than this process: a writer that may still be running
        Assert.True(StaleTempFiles.IsTempOf(Path.GetFileName(stale), "y.npy"));
        Assert.False(StaleTempFiles.IsTempOf(Path.GetFileName(foreign), "y.npy"));

        Assert.Equal(0, Adapt("predict", "--backbone", backbone, "--input", input, "--out", output, "--device", "cpu").Exit);
        Assert.True(File.Exists(output));
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(foreign));
        Assert.True(File.Exists(other));
    }

    [Fact]
    public void PredictRefusesNonFiniteLogitsAndWritesNothing()
    {
        // Finite weights whose logits overflow to infinity.
        var huge = ArtifactEdits.Rewrite(backbone, P("huge.safetensors"), (tensors, _) =>
        {
            using (no_grad())
            {
                tensors["norm.weight"].mul_(1e30f);
                tensors[TimmCheckpoint.HeadWeightName].mul_(1e30f);
            }
        });
        var output = P("inf.npy");
        var (exit, error) = Adapt("predict", "--backbone", huge, "--input", input, "--out", output, "--device", "cpu");
        Assert.Equal(CliRunner.UserError, exit);
        Assert.Contains("non-finite logit", error);
        Assert.False(File.Exists(output));
    }

    /// <summary>A small tune command; <paramref name="extra"/> flags replace the defaults' values or are added.</summary>
    private string[] Tune(string output, params string[] extra)
    {
        var args = new List<string>
        {
            "tune", "--backbone", backbone, "--data", data, "--method", "natural", "--prompt-layout", "deep:2", "--epochs", "1",
            "--batch-size", "8", "--eval-points", "0", "--limit", "16", "--device", "cpu", "--out", output,
        };
        for (var i = 0; i < extra.Length; i++)
        {
            var hasValue = i + 1 < extra.Length && !extra[i + 1].StartsWith("--", StringComparison.Ordinal);
            var at = args.IndexOf(extra[i]);
            if (hasValue && at >= 0)
                args[at + 1] = extra[++i];
            else if (hasValue)
                args.AddRange([extra[i], extra[++i]]);
            else
                args.Add(extra[i]);
        }
        return [.. args];
    }

    [Fact]
    public void ResumeRefusesAnyChangeOfTheRunAndNeverRewritesItsOutputForAnotherBackbone()
    {
        var output = P("tuned.safetensors");
        Assert.Equal(0, Adapt(Tune(output)).Exit);
        var hash = Hash(output);

        var other = ArtifactEdits.Rewrite(backbone, P("other.safetensors"), (tensors, _) =>
        {
            using (no_grad())
                tensors["norm.bias"].add_(0.01);
        });
        var changes = new (string What, string[] Args)[]
        {
            ("LearningRate", Tune(output, "--resume", "--lr", "0.5")),
            ("train_limit", Tune(output, "--resume", "--limit", "8")),
            ("Epochs", Tune(output, "--resume", "--epochs", "2")),
            ("Method", Tune(output, "--resume", "--method", "at")),
            ("seed", Tune(output, "--resume", "--seed", "9")),
            ("backbone_fingerprint", Tune(output, "--resume", "--backbone", other)),
        };
        foreach (var (what, args) in changes)
        {
            var (exit, error) = Adapt(args);
            Assert.True(exit == CliRunner.UserError, $"{what}: exit {exit}");
            Assert.True(error.Contains(what, StringComparison.Ordinal), error);
            Assert.Equal(hash, Hash(output));
        }

        // A torn last metrics line (killed mid-write) does not block the resume; the same settings rewrite the same bytes.
        var metrics = Path.Combine(P("tuned.run"), Trainer.MetricsFileName);
        File.AppendAllText(metrics, "{\"epoch\":2,\"ste");
        Assert.Equal(0, Adapt(Tune(output, "--resume")).Exit);
        Assert.Equal(hash, Hash(output));
    }

    [Fact]
    public void DivergingTuneStopsWithAClearErrorAndWritesNoPromptFile()
    {
        var output = P("nan.safetensors");
        var (exit, error) = Adapt(Tune(output, "--lr", "1e30"));
        Assert.Equal(CliRunner.UserError, exit);
        Assert.True(error.Contains("training diverged", StringComparison.Ordinal), error);
        Assert.False(File.Exists(output));
        Assert.False(File.Exists(Path.Combine(P("nan.run"), Trainer.CheckpointFileName)));
    }

    [Fact]
    public void TuneAndEvalBothResizeDataOfAnotherSizeToTheModel()
    {
        // A patch-3 backbone (9x9 input) and 8x8 data; paper-cifar10's 32x32 input does not fit a patch-3 grid.
        using var model = new VisionTransformer(TinyVit.Config(classes: 10, channels: 1, imageSize: 9, patchSize: 3), seed: 5);
        var patch3 = P("patch3.safetensors");
        BackboneFile.Save(patch3, model);
        string[] tune =
        [
            "tune", "--backbone", patch3, "--data", data, "--recipe", "paper-cifar10", "--prompt-layout", "deep:1", "--epochs", "1",
            "--steps", "1", "--batch-size", "8", "--eval-points", "4", "--limit", "8", "--device", "cpu", "--out", P("p3.safetensors"),
        ];
        Assert.Equal(0, Adapt(tune).Exit);
        Assert.Equal(9, PromptFile.ReadInfo(P("p3.safetensors")).Config!.ImageSize);
        Assert.Equal(0, Adapt("eval", "--backbone", patch3, "--prompts", P("p3.safetensors"), "--data", data, "--attacks", "clean",
            "--no-checks", "--no-plots", "--device", "cpu", "--out", P("e3")).Exit);
    }
}
