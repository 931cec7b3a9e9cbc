using System.Diagnostics;
using System.Runtime.InteropServices;
using AdaptSharp.Checkpoints;
using AdaptSharp.Cli;
using AdaptSharp.Evaluation;
using AdaptSharp.Models;
using AdaptSharp.Tests.Data;
using AdaptSharp.Tests.Evaluation;
using AdaptSharp.Training;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Cli;

/// <summary>
/// Section 4 of the hardening issue: each long command, run as a real child process (the built adapt.dll) and sent a
/// real SIGINT or SIGTERM mid-run, saves its state, exits 130/143 with one line saying how to continue, and running it
/// again (with --resume where that is the convention) ends in outputs byte-equal to an uninterrupted run.
/// </summary>
// Serial: the reference and resumed runs call Program.Main in-process, whose console and signal state is process-wide.
[Collection(SerialCollection.Name)]
public sealed class InterruptionTests : IDisposable
{
    private readonly string work = EvaluationFixtures.TempDirectory();
    private readonly string data = DataFiles.IdxDataset(trainCount: 128, testCount: 48, gzip: false, size: 8);
    private readonly string backbone;
    private readonly string prompts;

    public InterruptionTests()
    {
        using var model = new VisionTransformer(EvaluationFixtures.TinyConfig with { NumClasses = 10 }, PromptConfig.Parse("deep:2"), seed: 4);
        using (no_grad())
            model.PromptTokens!.mul_(30.0);
        backbone = Path.Combine(work, "backbone.safetensors");
        prompts = Path.Combine(work, "prompts.safetensors");
        var fingerprint = BackboneFile.Save(backbone, model);
        PromptFile.Save(prompts, model, new PromptFileInfo { BackboneFingerprint = fingerprint, Method = "test" });
    }

    public void Dispose()
    {
        Directory.Delete(work, recursive: true);
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public void EvalInterruptedBySigintResumesToTheSameFlags()
    {
        string[] Args(string outDir) =>
        [
            "eval", "--backbone", backbone, "--prompts", prompts, "--data", $"mnist:{data}", "--limit", "48", "--eps", "0.1",
            "--attacks", "clean,pgd50,cw50", "--source", "both", "--batch-size", "4", "--check-points", "8", "--no-plots",
            "--device", "cpu", "--out", outDir,
        ];
        var reference = Path.Combine(work, "reference");
        Assert.Equal(0, Program.Main(Args(reference)));

        var outDir = Path.Combine(work, "interrupted");
        var (code, stderr) = Interrupt(Args(outDir), Path.Combine(outDir, ReportWriter.ReportFile), "INT");
        Assert.True(code == 130, $"exit code {code}: {stderr}");
        Assert.Contains("adapt: interrupted: state saved in", stderr);
        Assert.Contains("--resume", stderr);
        var partial = ReportWriter.TryLoad(outDir)!;
        Assert.False(partial.Report.Complete);

        Assert.Equal(0, Program.Main([.. Args(outDir), "--resume"]));
        Assert.Equal(File.ReadAllBytes(Path.Combine(reference, ReportWriter.FlagsFile)), File.ReadAllBytes(Path.Combine(outDir, ReportWriter.FlagsFile)));
    }

    [Fact]
    public void TuneInterruptedBySigtermResumesToTheSameFile() => TrainingCommandResumesToTheSameFile("tune", "TERM", 143);

    [Fact]
    public void PretrainInterruptedBySigintResumesToTheSameFile() => TrainingCommandResumesToTheSameFile("pretrain", "INT", 130);

    private void TrainingCommandResumesToTheSameFile(string command, string signal, int expected)
    {
        {
            string[] Args(string name) =>
            [
                command, "--backbone", backbone, "--data", $"mnist:{data}", "--epochs", "3", "--batch-size", "4", "--limit", "128",
                "--eval-points", "0", "--device", "cpu", "--out", Path.Combine(work, $"{name}.safetensors"), "--run-dir", Path.Combine(work, $"{name}-run"),
                .. command == "tune" ? new[] { "--prompt-layout", "deep:2", "--method", "adapt-ce", "--steps", "2" } : [],
            ];
            Assert.Equal(0, Program.Main(Args($"{command}-reference")));
            var (code, stderr) = Interrupt(Args(command), Path.Combine(work, $"{command}-run", Trainer.MetricsFileName), signal);
            Assert.Equal(expected, code);
            Assert.Contains("--resume", stderr);
            Assert.False(File.Exists(Path.Combine(work, $"{command}.safetensors")));
            Assert.Equal(0, Program.Main([.. Args(command), "--resume"]));
            Assert.Equal(File.ReadAllBytes(Path.Combine(work, $"{command}-reference.safetensors")), File.ReadAllBytes(Path.Combine(work, $"{command}.safetensors")));
        }
    }

    [Fact]
    public void StudyAndDemoInterruptedBySignalsContinueWhenRunAgain()
    {
        foreach (var (command, signal, expected) in new[] { ("study", "TERM", 143), ("demo", "INT", 130) })
        {
            string[] Args(string outDir) =>
            [
                command, "--plan", "mini", "--data", data, "--backbone", backbone, "--device", "cpu", "--out", outDir,
                .. command == "study" ? new[] { "--runs", "pt-at" } : [],
            ];
            var reference = Path.Combine(work, $"{command}-reference");
            Assert.Equal(0, Program.Main(Args(reference)));
            var outDir = Path.Combine(work, command);
            // Interrupt once the first evaluation has saved a batch: tuning is done, the evaluation is half-way.
            var (code, stderr) = Interrupt(Args(outDir), Path.Combine(outDir, "eval", command == "study" ? "pt-at/main" : "natural/pgd", ReportWriter.ReportFile), signal);
            Assert.Equal(expected, code);
            Assert.Contains("run the same command again to continue", stderr);
            Assert.Equal(0, Program.Main(Args(outDir)));
            var flags = Directory.GetFiles(reference, ReportWriter.FlagsFile, SearchOption.AllDirectories).Select(f => Path.GetRelativePath(reference, f)).Order().ToList();
            Assert.NotEmpty(flags);
            foreach (var f in flags)
                Assert.Equal(File.ReadAllBytes(Path.Combine(reference, f)), File.ReadAllBytes(Path.Combine(outDir, f)));
            foreach (var f in Directory.GetFiles(reference, "*.safetensors", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(reference, f)))
                Assert.Equal(File.ReadAllBytes(Path.Combine(reference, f)), File.ReadAllBytes(Path.Combine(outDir, f)));
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>Starts adapt.dll with <paramref name="args"/>, sends SIG<paramref name="signal"/> once <paramref name="watch"/> exists, returns the exit code and stderr.</summary>
    private static (int Code, string Stderr) Interrupt(string[] args, string watch, string signal)
    {
        // env --default-signal: a test host started in the background inherits SIGINT as ignored, and so would the child.
        var start = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--default-signal=INT,TERM", "dotnet", Path.Combine(AppContext.BaseDirectory, "adapt.dll") })
            start.ArgumentList.Add(a);
        foreach (var a in args)
            start.ArgumentList.Add(a);
        // The same intra-op thread count as the in-process reference and resumed runs: full training's weight
        // gradients are reductions whose float rounding depends on how libtorch splits them over threads.
        start.Environment["ADAPT_THREADS"] = get_num_threads().ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (!File.Exists(watch) && !process.HasExited && DateTime.UtcNow < deadline)
            Thread.Sleep(20);
        // The message reads the child's output, which blocks until it exits: build it only when the child has exited.
        if (process.HasExited)
            Assert.Fail($"finished before the signal: {stdout.Result} {stderr.Result}");
        Assert.Equal(0, Kill(process.Id, signal == "INT" ? 2 : 15));
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(3)), "did not stop after the signal");
        return (process.ExitCode, stderr.Result);
    }
}
