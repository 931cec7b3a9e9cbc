using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AdaptSharp.Models;
using AdaptSharp.Runtime;
using AdaptSharp.Training;
using static TorchSharp.torch;

namespace AdaptSharp.Bench;

/// <summary>
/// Suite <c>peer</c>: AdaptSharp against PyTorch (bench/peer/peer.py, Debian's python3-torch) on the same shapes and
/// workloads, rounds interleaved (ours, theirs, ours, ...) so both see the same load. Prints per row the ratio
/// AdaptSharp / PyTorch in throughput (above 1: AdaptSharp is faster). Target: >= 1.0 on every row.
/// Options: --threads N (both sides), --repeats N (rounds, default 5), --quick (vit-small at batch 4).
/// </summary>
public static class PeerBenchmark
{
    private static readonly string[] WorkloadNames = ["forward", "attack", "adaptce"];

    public static int Run(string[] args)
    {
        var context = new BenchContext(args);
        var report = new BenchReport("peer", context, $"dotnet run -c Release --project bench/AdaptSharp.Bench -- peer {string.Join(' ', args)}".TrimEnd());
        Console.WriteLine($"== peer: {report.Machine}");
        report.MeasureGemmPeak();
        var rounds = context.IntOption("--repeats", 5);
        using var peer = PeerProcess.Start(get_num_threads());
        report.Notes.Add($"peer: PyTorch {peer.TorchVersion} (python3, bench/peer/peer.py) with {peer.Threads} thread(s); AdaptSharp with {get_num_threads()}; {rounds} interleaved rounds after one warm-up each; ratio = PyTorch median time / AdaptSharp median time (above 1: AdaptSharp faster).");

        var demo = ModelPresets.Get(ModelPresets.CpuPreset);
        var shapes = new[]
        {
            new Workloads.Shape("demo (d8)", demo, PromptConfig.Parse("deep:4"), 128, 5),
            new Workloads.Shape("vit-tiny", ModelPresets.Get("vit-tiny-patch16", numClasses: 10), PromptConfig.Parse("deep:25"), context.Quick ? 4 : 16, 2),
            new Workloads.Shape("vit-small", ModelPresets.Get("vit-small-patch16", numClasses: 10), PromptConfig.Parse("deep:25"), context.Quick ? 4 : 8, 2),
        };
        var worst = double.PositiveInfinity;
        foreach (var shape in shapes)
        {
            using var scope = NewDisposeScope();
            var c = shape.Config;
            peer.Shape(c, shape.Prompts.Length, shape.Batch, shape.PgdSteps);
            using var model = Workloads.Model(shape, context.Device);
            var (x, y) = Workloads.Batch(c, shape.Batch, context.Device);
            model.SetTrainable(TrainableSet.Prompts | TrainableSet.Head | TrainableSet.PatchEmbed);
            using var trainer = Workloads.Trainer(model, ObjectiveKind.AdaptCe, shape.PgdSteps, x, y);
            var ours = new Dictionary<string, (Action Action, double Flops)>
            {
                ["forward"] = (Workloads.Forward(model, x), FlopCounter.Forward(c, shape.Prompts)),
                ["attack"] = (Workloads.AttackStep(model, x, y), FlopCounter.AttackStep(c, shape.Prompts)),
                ["adaptce"] = (Workloads.TrainStep(trainer, x, y), TrainingFlops.Step(c, shape.Prompts, ObjectiveKind.AdaptCe, shape.PgdSteps, trainer.Options.Trainable)),
            };
            foreach (var workload in WorkloadNames)
            {
                var (action, flops) = ours[workload];
                action();
                peer.Time(workload, 1);
                var mine = new double[rounds];
                var theirs = new double[rounds];
                for (var r = 0; r < rounds; r++)
                {
                    mine[r] = context.Time(action, 1).Min;
                    theirs[r] = peer.Time(workload, 1)[0];
                }
                var a = Timing.From(mine);
                var p = Timing.From(theirs);
                var ratio = p.Median / a.Median;
                worst = Math.Min(worst, ratio);
                var label = workload == "adaptce" ? $"adapt-ce step (PGD-{shape.PgdSteps})" : workload == "attack" ? "attack step (fwd + input grad)" : "forward";
                var key = $"{shape.Label.Split(' ')[0]}_{workload}";
                report.Values[$"{key}_ratio"] = ratio;
                report.Values[$"{key}_pytorch_ms"] = p.Median * 1e3;
                report.Add(new BenchRow("peer", label, $"{shape.Label} {shape.Prompts}", shape.Batch, shape.Tokens, c.ImageSize,
                    a.Median, a.Min, shape.Batch / a.Median, flops, flops * shape.Batch / a.Median / 1e9,
                    flops * shape.Batch / a.Min / 1e9 / report.GemmPeakGflops, double.NaN,
                    string.Create(CultureInfo.InvariantCulture, $"PyTorch {p.Median * 1e3:N1} ms: ratio {ratio:N2}x")));
            }
        }
        report.Check("AdaptSharp >= PyTorch on every row", worst >= 1.0, string.Create(CultureInfo.InvariantCulture, $"worst ratio {worst:N2}x"));
        report.Write();
        return 0;
    }

    /// <summary>The long-lived python3 process of bench/peer/peer.py, one JSON line per request and answer.</summary>
    private sealed class PeerProcess : IDisposable
    {
        private readonly Process process;

        private PeerProcess(Process process, JsonNode hello)
        {
            this.process = process;
            TorchVersion = hello["torch"]!.GetValue<string>();
            Threads = hello["threads"]!.GetValue<int>();
        }

        public string TorchVersion { get; }

        public int Threads { get; }

        public static PeerProcess Start(int threads)
        {
            var script = FindScript();
            // The peer's OpenBLAS gets the kernels AdaptSharp's own OpenBLAS route gets (Debian's falls back to its oldest,
            // about 5x slower, on Intel models newer than it knows); the child inherits the variable.
            CblasLibrary.NameOpenBlasKernels();
            var start = new ProcessStartInfo(File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            start.ArgumentList.Add(script);
            start.Environment["OMP_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
            start.Environment["OPENBLAS_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);

            var process = Process.Start(start) ?? throw new InvalidOperationException("could not start python3");
            var hello = Ask(process, new JsonObject { ["op"] = "threads", ["n"] = threads });
            return new PeerProcess(process, hello);
        }

        public void Shape(VitConfig c, int prompts, int batch, int pgd) => Ask(process, new JsonObject
        {
            ["op"] = "shape",
            ["width"] = c.Width,
            ["depth"] = c.Depth,
            ["heads"] = c.Heads,
            ["mlp"] = c.MlpRatio,
            ["patch"] = c.PatchSize,
            ["img"] = c.ImageSize,
            ["chans"] = c.InChannels,
            ["classes"] = c.NumClasses,
            ["prompts"] = prompts,
            ["batch"] = batch,
            ["pgd"] = pgd,
        });

        public double[] Time(string workload, int repeats) =>
            Ask(process, new JsonObject { ["op"] = "time", ["workload"] = workload, ["repeats"] = repeats })["seconds"]!
                .AsArray().Select(s => s!.GetValue<double>()).ToArray();

        private static JsonNode Ask(Process process, JsonObject request)
        {
            process.StandardInput.WriteLine(request.ToJsonString());
            process.StandardInput.Flush();
            var line = process.StandardOutput.ReadLine()
                ?? throw new InvalidOperationException("bench/peer/peer.py stopped (is python3-torch installed?)");
            return JsonNode.Parse(line)!;
        }

        private static string FindScript()
        {
            for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            {
                var path = Path.Combine(dir.FullName, "bench", "peer", "peer.py");
                if (File.Exists(path)) return path;
            }
            throw new ArgumentException("bench/peer/peer.py not found above the working directory");
        }

        public void Dispose()
        {
            process.StandardInput.Close();
            if (!process.WaitForExit(5000)) process.Kill();
            process.Dispose();
        }
    }
}
