using System.Diagnostics;
using System.Text.Json;
using AdaptSharp.Checkpoints;
using AdaptSharp.Demo;
using AdaptSharp.Evaluation;
using AdaptSharp.Tests.Data;

namespace AdaptSharp.Tests.Demo;

/// <summary>A miniature demo end to end on the real Fashion-MNIST and the shipped backbone: structure and invariants, not accuracy.</summary>
public class MiniDemoTests
{
    [FashionMnistFact]
    public void MiniDemoWritesAConsistentReport()
    {
        var outDir = Directory.CreateTempSubdirectory("adapt-demo-").FullName;
        try
        {
            var exit = AdaptSharp.Cli.Program.Main(["demo", "--plan", "mini", "--out", outDir, "--device", "cpu"]);
            Assert.Equal(0, exit);
            var markdown = File.ReadAllText(Path.Combine(outDir, DemoReport.MarkdownFile));
            Assert.Contains("| method | trained params |", markdown);
            Assert.Contains("Gradient-masking checklist", markdown);
            Assert.True(new FileInfo(Path.Combine(outDir, DemoReport.PlotFile)).Length > 1000);

            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, DemoReport.JsonFile)));
            var rows = json.RootElement.GetProperty("rows").EnumerateArray().ToList();
            Assert.Equal(["natural", "at", "adapt-ce"], rows.Select(r => r.GetProperty("method").GetString()));
            var backboneBytes = json.RootElement.GetProperty("backbone_bytes").GetInt64();
            foreach (var r in rows)
            {
                double Get(string name) => r.GetProperty(JsonNamingPolicy.SnakeCaseLower.ConvertName(name)).GetDouble();
                Assert.InRange(Get("Clean"), 0, 1);
                // Robust accuracy never exceeds clean accuracy; the worst case over AutoAttack's cascade likewise.
                Assert.True(Get("PgdAdaptive") <= Get("Clean") + 1e-9);
                Assert.True(Get("PgdAgnostic") <= Get("Clean") + 1e-9);
                Assert.InRange(Get("AutoAttack"), 0, 1);
                Assert.InRange(Get("TrainablePercent"), 0.1, 5);
                var promptFile = r.GetProperty("prompt_file_bytes").GetInt64();
                Assert.True(promptFile > 0 && promptFile < backboneBytes / 10, "a prompt file must be a small fraction of the backbone");
                var file = Path.Combine(outDir, "prompts", r.GetProperty("method").GetString() + ".safetensors");
                var info = PromptFile.ReadInfo(file);
                Assert.Equal(BackboneFingerprint.OfFile(json.RootElement.GetProperty("backbone").GetString()!), info.BackboneFingerprint);
            }

            // A second run reuses every artifact and gives the same table.
            Assert.Equal(0, AdaptSharp.Cli.Program.Main(["demo", "--plan", "mini", "--out", outDir, "--device", "cpu"]));
            using var again = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, DemoReport.JsonFile)));
            Assert.Equal(
                rows.Select(r => r.GetProperty("pgd_adaptive").GetDouble()),
                again.RootElement.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("pgd_adaptive").GetDouble()));
            // ... and reports the training time the reused tunings took when they ran, not this run's zero.
            Assert.Equal(
                rows.Select(r => r.GetProperty("train_seconds").GetDouble()),
                again.RootElement.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("train_seconds").GetDouble()));
            Assert.All(rows, r => Assert.True(r.GetProperty("train_seconds").GetDouble() > 0));
            Assert.Contains("reused from earlier runs in this folder: natural, at, adapt-ce", File.ReadAllText(Path.Combine(outDir, DemoReport.MarkdownFile)));

            // Another seed in the same folder: its prompts were tuned with seed 0, so the demo (serial and parallel) refuses
            // in one line and changes nothing, where it used to reuse them under a report that said seed 1.
            var files = Snapshot(outDir);
            foreach (var threads in new[] { 1, 2 })
            {
                var (code, output) = RunAdapt(threads, ["demo", "--plan", "mini", "--out", outDir, "--device", "cpu", "--seed", "1"]);
                Assert.Equal(2, code);
                Assert.Contains(".safetensors was tuned with other settings than this plan's (seed 0 -> 1): pass --fresh", output);
                Assert.Equal(files, Snapshot(outDir));
            }
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }

    /// <summary>
    /// The parallel demo (worker processes, one torch thread each; every run's training, main evaluation and two
    /// AutoAttack shards as separate units) gives what the serial demo gives at one thread: byte-equal prompt files and
    /// per-point flags (AutoAttack's merged from its shards), and its report counts the workers' runs as done now, not reused.
    /// </summary>
    [FashionMnistFact]
    public void ParallelWorkersGiveTheSerialResultAtTheirThreadCount()
    {
        var serial = Directory.CreateTempSubdirectory("adapt-demo-serial-").FullName;
        var parallel = Directory.CreateTempSubdirectory("adapt-demo-parallel-").FullName;
        try
        {
            var (code, output) = RunAdapt(1, ["demo", "--plan", "mini", "--out", serial, "--device", "cpu", "--jobs", "1"]);
            Assert.True(code == 0, output);
            (code, output) = RunAdapt(2, ["demo", "--plan", "mini", "--out", parallel, "--device", "cpu", "--jobs", "2"]);
            Assert.True(code == 0, output);
            Assert.Contains("3 run(s) to do in 12 units, 2 at a time with 1 torch thread(s) each", output);

            var files = Directory.GetFiles(serial, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(serial, f))
                .Where(f => f.StartsWith("prompts", StringComparison.Ordinal) || f.EndsWith(ReportWriter.FlagsFile, StringComparison.Ordinal))
                .Order().ToList();
            Assert.Equal(3 + 6, files.Count);
            foreach (var f in files)
                Assert.True(File.ReadAllBytes(Path.Combine(serial, f)).SequenceEqual(File.ReadAllBytes(Path.Combine(parallel, f))), $"{f} differs");
            foreach (var run in new[] { "natural", "at", "adapt-ce" })
            {
                foreach (var unit in new[] { "train", "eval", "autoattack-1-of-2", "autoattack-2-of-2" })
                    Assert.True(new FileInfo(Path.Combine(parallel, "logs", $"{run}.{unit}.log")).Length > 0, $"{run}.{unit}");
                var autoAttack = ReportWriter.TryLoad(Path.Combine(parallel, "eval", run, "autoattack"))!.Report;
                Assert.Equal(2, autoAttack.MergedShards);
                Assert.Equal(4, autoAttack.N);
            }
            var report = File.ReadAllText(Path.Combine(parallel, DemoReport.MarkdownFile));
            Assert.Contains("torch threads 1 per worker, 2 workers at a time", report);
            Assert.DoesNotContain("reused from earlier runs", report);
        }
        finally
        {
            Directory.Delete(serial, recursive: true);
            Directory.Delete(parallel, recursive: true);
        }
    }

    /// <summary>
    /// An AutoAttack shard a worker finished before the demo stopped is kept: the next demo (here one process, --jobs 1)
    /// does the other shard, merges both and ends with the flags of a demo that ran AutoAttack whole.
    /// </summary>
    [FashionMnistFact]
    public void AutoAttackShardOfAStoppedParallelDemoIsMergedByTheNextRun()
    {
        var whole = Directory.CreateTempSubdirectory("adapt-demo-whole-").FullName;
        var resumed = Directory.CreateTempSubdirectory("adapt-demo-resumed-").FullName;
        try
        {
            Assert.Equal(0, AdaptSharp.Cli.Program.Main(["demo", "--plan", "mini", "--out", whole, "--device", "cpu", "--jobs", "1"]));
            string[] worker = ["demo", "--plan", "mini", "--out", resumed, "--device", "cpu", "--jobs", "1", "--runs", "adapt-ce", "--stage"];
            Assert.Equal(0, AdaptSharp.Cli.Program.Main([.. worker, "train"]));
            Assert.Equal(0, AdaptSharp.Cli.Program.Main([.. worker, "autoattack", "--shard", "2/2"]));
            var autoAttack = Path.Combine(resumed, "eval", "adapt-ce", "autoattack");
            Assert.True(ReportWriter.TryLoad(Path.Combine(autoAttack, "shard-2-of-2"))!.Report.Complete);
            Assert.False(File.Exists(Path.Combine(autoAttack, ReportWriter.ReportFile)));

            Assert.Equal(0, AdaptSharp.Cli.Program.Main(["demo", "--plan", "mini", "--out", resumed, "--device", "cpu", "--jobs", "1"]));
            var merged = ReportWriter.TryLoad(autoAttack)!;
            Assert.Equal(2, merged.Report.MergedShards);
            var expected = ReportWriter.TryLoad(Path.Combine(whole, "eval", "adapt-ce", "autoattack"))!;
            Assert.Null(expected.Report.MergedShards);
            Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "eval", "adapt-ce", "autoattack", ReportWriter.FlagsFile)),
                File.ReadAllBytes(Path.Combine(autoAttack, ReportWriter.FlagsFile)));
            Assert.Equal(expected.Report.RobustAccuracy, merged.Report.RobustAccuracy);
        }
        finally
        {
            Directory.Delete(whole, recursive: true);
            Directory.Delete(resumed, recursive: true);
        }
    }

    /// <summary>A backbone that does not load stops the demo in one line before any worker starts or any output is written.</summary>
    [FashionMnistFact]
    public void CorruptBackboneFailsBeforeAnyOutput()
    {
        var dir = Directory.CreateTempSubdirectory("adapt-demo-bad-").FullName;
        try
        {
            var backbone = Path.Combine(dir, "backbone.safetensors");
            File.WriteAllBytes(backbone, [.. Enumerable.Range(0, 100).Select(i => (byte)(i * 37))]);
            var outDir = Path.Combine(dir, "out");
            var (code, output) = RunAdapt(2, ["demo", "--plan", "mini", "--backbone", backbone, "--out", outDir, "--device", "cpu"]);
            Assert.Equal(2, code);
            Assert.Contains($"adapt: {backbone}: ", output);
            Assert.False(Directory.Exists(outDir), "no output folder for a demo that could not start");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static Dictionary<string, (long, DateTime)> Snapshot(string directory) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .ToDictionary(f => f, f => (new FileInfo(f).Length, File.GetLastWriteTimeUtc(f)));

    private static (int Code, string Output) RunAdapt(int threads, string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "adapt.dll"));
        foreach (var a in args)
            start.ArgumentList.Add(a);
        start.Environment["ADAPT_THREADS"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
