using System.Buffers.Binary;
using System.Diagnostics;
using AdaptSharp.Checkpoints;
using AdaptSharp.Cli;
using AdaptSharp.Cluster;
using AdaptSharp.Data;
using AdaptSharp.Evaluation;
using AdaptSharp.Models;
using AdaptSharp.Tests.Data;
using AdaptSharp.Tests.Evaluation;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Cluster;

/// <summary>
/// adapt eval --shard K/N in separate processes + adapt merge give the unsharded run's flags bit for bit, and merge
/// refuses what is not exactly the N shards of one evaluation, writing nothing.
/// Serial: it calls the CLI in-process many times, and the CLI's per-invocation state (Interruption) is process-wide.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class ShardedEvaluationTests : IDisposable
{
    private const int Points = 24; // 3 batches of 8, one per shard; the checklist's 16 points are batches 0-1
    private readonly string work = EvaluationFixtures.TempDirectory();
    private readonly string dataDir;
    private readonly string backbone;
    private readonly string prompts;
    private readonly string otherPrompts;

    public ShardedEvaluationTests()
    {
        using var model = EvaluationFixtures.PromptedModel(numClasses: 10);
        (backbone, prompts, var fingerprint) = EvaluationFixtures.SaveBackboneAndPrompts(model, work);
        using (no_grad())
            model.PromptTokens!.add_(0.5);
        otherPrompts = Path.Combine(work, "other-prompts.safetensors");
        PromptFile.Save(otherPrompts, model, new PromptFileInfo { BackboneFingerprint = fingerprint, Method = "test" });
        dataDir = EvaluationFixtures.LabelledMnistFolder(model, Path.Combine(work, "data"), Points);
    }

    public void Dispose() => Directory.Delete(work, recursive: true);

    private string[] EvalArgs(string outDir, string? promptFile = null, long seed = 5) =>
    [
        "eval", "--backbone", backbone, "--prompts", promptFile ?? prompts, "--data", $"mnist:{dataDir}", "--limit", $"{Points}",
        "--eps", "0.1", "--attacks", "clean,fgsm,pgd5,autoattack", "--source", "adaptive", "--batch-size", "8", "--check-points", "16",
        "--eps-sweep", "0.05", "--seed", $"{seed}", "--no-plots", "--device", "cpu", "--out", outDir,
    ];

    [Fact]
    public void ShardsInSeparateProcessesMergeToTheUnshardedFlags()
    {
        var whole = Path.Combine(work, "whole");
        Assert.Equal(0, Program.Main(EvalArgs(whole)));
        var sharded = Path.Combine(work, "sharded");
        RunProcesses(Enumerable.Range(1, 3).Select(k => EvalArgs(sharded).Append("--shard").Append($"{k}/3").ToArray()).ToList());
        Assert.Equal(["shard-1-of-3", "shard-2-of-3", "shard-3-of-3"], Directory.GetDirectories(sharded).Select(Path.GetFileName).Order());

        Assert.Equal(0, Program.Main(["merge", "--out", sharded]));
        var expected = ReportWriter.TryLoad(whole)!;
        var merged = ReportWriter.TryLoad(sharded)!;
        Assert.Equal(expected.Report.Runs.Select(r => r.Key), merged.Report.Runs.Select(r => r.Key));
        Assert.Equal(expected.Flags.Points, merged.Flags.Points);
        Assert.Equal(expected.Flags.Values, merged.Flags.Values); // every run: suite, AutoAttack stages, checklist, sweep
        Assert.Contains((sbyte)0, merged.Flags.Values);
        Assert.Contains((sbyte)1, merged.Flags.Values);
        Assert.True(merged.Report.Complete);
        Assert.Null(merged.Report.Shard);
        Assert.Equal(3, merged.Report.MergedShards);
        Assert.Equal(expected.Report.RobustAccuracy, merged.Report.RobustAccuracy);
        Assert.Equal(expected.Report.Attacks.Select(a => (a.Name, a.Source, a.RobustAccuracy, a.CumulativeRobustAccuracy, a.GradientEvaluations, a.Queries)),
            merged.Report.Attacks.Select(a => (a.Name, a.Source, a.RobustAccuracy, a.CumulativeRobustAccuracy, a.GradientEvaluations, a.Queries)));
        Assert.Equal(expected.Report.Checklist.Select(c => (c.Number, c.Status)), merged.Report.Checklist.Select(c => (c.Number, c.Status)));
        Assert.Equal(expected.Report.CheckRuns.Select(r => (r.Purpose, r.Robust)), merged.Report.CheckRuns.Select(r => (r.Purpose, r.Robust)));
        Assert.Equal(expected.Report.EpsSweep, merged.Report.EpsSweep);
        Assert.Equal(expected.Report.Gradients!.Points, merged.Report.Gradients!.Points);
        Assert.Equal(expected.Report.Gradients.ZeroGradientPoints, merged.Report.Gradients.ZeroGradientPoints);
        Assert.Equal(expected.Report.Gradients.MeanAbsGradient, merged.Report.Gradients.MeanAbsGradient, 1e-12 * Math.Max(1.0, expected.Report.Gradients.MeanAbsGradient));
        Assert.True(File.Exists(Path.Combine(sharded, ReportWriter.MarkdownFile)));

        // Merging again is idempotent; a shard folder run again resumes to the same state.
        Assert.Equal(0, Program.Main(["merge", "--out", sharded]));
        Assert.Equal(expected.Flags.Values, ReportWriter.TryLoad(sharded)!.Flags.Values);
        var shard2 = ReportWriter.TryLoad(Path.Combine(sharded, "shard-2-of-3"))!;
        Assert.Equal(0, Program.Main([.. EvalArgs(sharded), "--shard", "2/3", "--resume"]));
        Assert.Equal(shard2.Flags.Values, ReportWriter.TryLoad(Path.Combine(sharded, "shard-2-of-3"))!.Flags.Values);

        // Refusals: nothing is written to the merge's --out.
        var s = Enumerable.Range(1, 3).Select(k => Path.Combine(sharded, $"shard-{k}-of-3")).ToArray();
        var copy = Path.Combine(work, "copy-of-shard-1");
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(s[0]))
            File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        var otherModel = Path.Combine(work, "other-model");
        Assert.Equal(0, Program.Main([.. EvalArgs(otherModel, otherPrompts), "--shard", "2/3"]));
        var otherSeed = Path.Combine(work, "other-seed");
        Assert.Equal(0, Program.Main([.. EvalArgs(otherSeed, seed: 6), "--shard", "2/3"]));
        var refused = Path.Combine(work, "refused");
        foreach (var dirs in new[]
                 {
                     new[] { s[0], s[2] },                                           // shard 2/3 missing
                     new[] { s[0], s[1], s[2], copy },                               // shard 1/3 twice
                     new[] { s[0], Path.Combine(otherModel, "shard-2-of-3"), s[2] }, // another prompt file
                     new[] { s[0], Path.Combine(otherSeed, "shard-2-of-3"), s[2] },  // another seed
                     new[] { s[0], s[1], s[2], whole },                              // a whole evaluation
                 })
        {
            Assert.Equal(CliRunner.UserError, Program.Main(["merge", "--out", refused, .. dirs]));
            Assert.False(Directory.Exists(refused));
        }
        Assert.Equal(CliRunner.UserError, Program.Main(["merge", "--out", whole, .. s])); // would overwrite an unsharded report
        Assert.Equal(expected.Report.CreatedUtc, ReportWriter.TryLoad(whole)!.Report.CreatedUtc);

        // The messages name the shard and what differs.
        EvaluationResult Load(string dir) => ReportWriter.TryLoad(dir)!;
        Assert.Contains("shard 2/3 is missing", Refusal([(s[0], Load(s[0])), (s[2], Load(s[2]))]));
        Assert.Contains($"shard 1/3 is given twice: {s[0]} and {copy}", Refusal([(s[0], Load(s[0])), (copy, Load(copy)), (s[1], Load(s[1])), (s[2], Load(s[2]))]));
        Assert.Contains("prompt fingerprint", Refusal([(s[0], Load(s[0])), ("other", Load(Path.Combine(otherModel, "shard-2-of-3"))), (s[2], Load(s[2]))]));
        Assert.Contains("another seed", Refusal([(s[0], Load(s[0])), ("other", Load(Path.Combine(otherSeed, "shard-2-of-3"))), (s[2], Load(s[2]))]));
        Assert.Contains("not a shard", Refusal([(whole, Load(whole))]));
    }

    [Fact]
    public void BadShardsAreOneLineErrorsAndWriteNothing()
    {
        foreach (var shard in new[] { "5/4", "0/0", "2", "x/4" })
        {
            var outDir = Path.Combine(work, "bad-" + shard.Replace('/', '-'));
            Assert.Equal(CliRunner.UserError, Program.Main([.. EvalArgs(outDir), "--shard", shard]));
            Assert.False(Directory.Exists(outDir));
        }
        // More shards than batches (3 batches of 8).
        var tooMany = Path.Combine(work, "too-many");
        Assert.Equal(CliRunner.UserError, Program.Main([.. EvalArgs(tooMany), "--shard", "4/4"]));
        Assert.False(Directory.Exists(tooMany));
    }

    private static string Refusal(IReadOnlyList<(string, EvaluationResult)> shards)
    {
        var e = Assert.ThrowsAny<Exception>(() => ShardMerger.Merge(shards));
        Assert.True(e is ArgumentException or InvalidDataException, e.GetType().Name);
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    /// <summary>Runs the adapt CLI (this build's) once per argument list, all at once, each in its own process.</summary>
    private static void RunProcesses(IReadOnlyList<string[]> argLists)
    {
        var cli = typeof(Program).Assembly.Location;
        var processes = argLists.Select(args =>
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            info.ArgumentList.Add(cli);
            foreach (var a in args) info.ArgumentList.Add(a);
            info.Environment["ADAPT_THREADS"] = "1";
            foreach (var name in new[] { "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "ADAPT_SHARD_COUNT" })
                info.Environment.Remove(name);
            var p = Process.Start(info)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            return (Process: p, Output: stdout, Error: stderr);
        }).ToList();
        foreach (var (p, output, error) in processes)
        {
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"adapt {string.Join(' ', p.StartInfo.ArgumentList.Skip(1))} exited {p.ExitCode}: {error.Result}{output.Result}");
            p.Dispose();
        }
    }
}
