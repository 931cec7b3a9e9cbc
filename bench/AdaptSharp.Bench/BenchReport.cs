using System.Globalization;
using System.Text;
using System.Text.Json;
using AdaptSharp.Runtime;
using static TorchSharp.torch;

namespace AdaptSharp.Bench;

/// <summary>
/// Results of one suite: the machine, the GEMM peak of the run, rows, and target checks. Written as
/// docs/bench/SUITE.json and docs/bench/SUITE.md; docs/performance.md is then rebuilt from every suite's
/// Markdown in the folder, so running one suite refreshes its own section only.
/// </summary>
public sealed class BenchReport
{
    private static readonly string[] SectionOrder = ["perf", "peer", "gemm", "attacks", "train", "memory", "ablation"];

    public BenchReport(string suite, BenchContext context, string command)
    {
        Suite = suite;
        Context = context;
        Command = command;
        Machine = context.Machine();
    }

    public string Suite { get; }

    public BenchContext Context { get; }

    public string Command { get; }

    public MachineInfo Machine { get; }

    public double GemmPeakGflops { get; set; }

    public List<BenchRow> Rows { get; } = new();

    public List<string> Checks { get; } = new();

    public List<string> Notes { get; } = new();

    public Dictionary<string, double> Values { get; } = new(StringComparer.Ordinal);

    /// <summary>Times a workload of <paramref name="batch"/> images with <paramref name="flopsPerImage"/> each, adds and prints the row.</summary>
    public BenchRow Measure(string group, string workload, string model, int batch, int tokens, int imageSize,
        double flopsPerImage, Action action, int? repeats = null, string note = "")
    {
        var (timing, peakMb, _) = Context.TimeWithMemory(action, repeats);
        var row = new BenchRow(group, workload, model, batch, tokens, imageSize, timing.Median, timing.Min,
            batch / timing.Median, flopsPerImage, flopsPerImage * batch / timing.Median / 1e9,
            GemmPeakGflops > 0 ? flopsPerImage * batch / timing.Min / 1e9 / GemmPeakGflops : double.NaN, peakMb, note);
        Add(row);
        return row;
    }

    /// <summary>
    /// One row per alternative, timed side by side: round by round each runs a block of calls (as many as take about
    /// 50 ms, at least one), so that the machine's drift falls on all alike and a call of a few milliseconds is not timed
    /// alone. A row's times are per call; its peak memory is that of the whole group.
    /// </summary>
    public IReadOnlyList<BenchRow> MeasureInterleaved(string group, string model, int batch, int tokens, int imageSize,
        double flopsPerImage, IReadOnlyList<(string Workload, Action Action)> alternatives, int? repeats = null)
    {
        var rounds = repeats ?? Context.Repeats;
        BenchContext.ResetPeakResident();
        var calls = alternatives.Select(a => Math.Clamp((int)Math.Ceiling(0.05 / Context.Time(a.Action, 3).Min), 1, 1000)).ToArray();
        var seconds = alternatives.Select(_ => new double[rounds]).ToArray();
        for (var round = 0; round < rounds; round++)
        {
            for (var k = 0; k < alternatives.Count; k++)
            {
                var i = (k + round) % alternatives.Count; // each round starts with the next alternative
                var watch = System.Diagnostics.Stopwatch.StartNew();
                for (var call = 0; call < calls[i]; call++)
                    alternatives[i].Action();
                Context.Synchronize();
                seconds[i][round] = watch.Elapsed.TotalSeconds / calls[i];
            }
        }
        var peakMb = BenchContext.PeakResidentMb();
        return alternatives.Select((a, i) =>
        {
            var timing = Timing.From(seconds[i]);
            var row = new BenchRow(group, a.Workload, model, batch, tokens, imageSize, timing.Median, timing.Min,
                batch / timing.Median, flopsPerImage, flopsPerImage * batch / timing.Median / 1e9,
                GemmPeakGflops > 0 ? flopsPerImage * batch / timing.Min / 1e9 / GemmPeakGflops : double.NaN, peakMb,
                $"interleaved, {calls[i]} call(s) per timing");
            Add(row);
            return row;
        }).ToList();
    }

    /// <summary>
    /// As <see cref="Measure"/>, but each timed run is preceded by a GEMM-peak run and the row's
    /// <see cref="BenchRow.PeakFraction"/> is the median of the per-run ratios: on a shared machine whose load drifts,
    /// each ratio compares two numbers taken seconds apart.
    /// </summary>
    public BenchRow MeasurePaired(string group, string workload, string model, int batch, int tokens, int imageSize,
        double flopsPerImage, Action action, int? repeats = null, string note = "")
    {
        var n = repeats ?? Context.Repeats;
        var gemmSize = GemmPeakSize;
        using var a = randn(new long[] { gemmSize, gemmSize }, device: Context.Device);
        using var b = randn(new long[] { gemmSize, gemmSize }, device: Context.Device);
        BenchContext.ResetPeakResident();
        Context.WarmUpAfterReset(action);
        var seconds = new double[n];
        var ratios = new double[n];
        for (var i = 0; i < n; i++)
        {
            var gemm = Context.Time(() => { using var r = a.mm(b); }, 1).Min;
            var watch = System.Diagnostics.Stopwatch.StartNew();
            action();
            Context.Synchronize();
            seconds[i] = watch.Elapsed.TotalSeconds;
            // Against the adjacent libtorch GEMM, rescaled to the best library's peak measured at the start.
            ratios[i] = (flopsPerImage * batch / seconds[i]) / (FlopCounter.SquareMatmul(gemmSize) / gemm)
                * (LibTorchGemmPeakGflops > 0 ? LibTorchGemmPeakGflops / GemmPeakGflops : 1);
        }
        var timing = Timing.From(seconds);
        var ratio = Timing.From(ratios).Median;
        var row = new BenchRow(group, workload, model, batch, tokens, imageSize, timing.Median, timing.Min, batch / timing.Median,
            flopsPerImage, flopsPerImage * batch / timing.Median / 1e9, ratio, BenchContext.PeakResidentMb(),
            string.IsNullOrEmpty(note) ? "ratio paired with adjacent GEMM runs" : note);
        Add(row);
        return row;
    }

    public void Add(BenchRow row)
    {
        Rows.Add(row);
        Console.WriteLine(
            $"  {row.Group,-10} {row.Workload,-28} {row.Model,-18} b{row.Batch,-4} T{row.Tokens,-4} {row.MedianSeconds * 1e3,9:N1} ms (min {row.MinSeconds * 1e3,8:N1}) {row.ImagesPerSecond,9:N1} img/s {row.GflopPerSecond,7:N1} GFLOP/s {row.PeakFraction,6:P0} peak {row.PeakResidentMb,6:N0} MB {row.Note}");
    }

    public void Check(string what, bool pass, string detail)
    {
        var line = $"{(pass ? "PASS" : "MISS")} {what}: {detail}";
        Checks.Add(line);
        Console.WriteLine("  " + line);
    }

    /// <summary>The square size whose product was fastest in <see cref="MeasureGemmPeak"/> (used by paired measurements).</summary>
    public int GemmPeakSize { get; private set; } = 2048;

    /// <summary>libtorch's own best fp32 GEMM (what the paired measurements run next to each timed run).</summary>
    public double LibTorchGemmPeakGflops { get; private set; }

    /// <summary>The library whose GEMM was fastest: libtorch, a system BLAS or the AVX-512 kernel (<see cref="GemmLibrary"/>).</summary>
    public string GemmPeakLibrary { get; private set; } = "libtorch";

    /// <summary>
    /// Times a peak GEMM for at least 5 s (at most 20 s) and until 5 runs in a row bring no new best by more than 2%:
    /// right after `dotnet run`'s build the cores are still shared with the build's leftover work for several seconds,
    /// which made the peak read 159 instead of 297 GFLOP/s (2048, 2 threads, Intel Xeon, `--no-build` for the second)
    /// and every "% of peak" too high.
    /// </summary>
    private Timing TimeUntilSettled(Action gemm)
    {
        gemm();
        var seconds = new List<double>();
        var best = double.MaxValue;
        var sinceBetter = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < 20 && (clock.Elapsed.TotalSeconds < 5 || seconds.Count < Math.Max(5, Context.Repeats) || sinceBetter < 5))
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            gemm();
            Context.Synchronize();
            var t = watch.Elapsed.TotalSeconds;
            seconds.Add(t);
            sinceBetter = t < best * 0.98 ? 0 : sinceBetter + 1;
            best = Math.Min(best, t);
        }
        return Timing.From(seconds);
    }

    /// <summary>
    /// The machine's fp32 GEMM peak: the best of several n x n products over n = 1024 and 2048 (4096 and 8192 on
    /// CUDA), with libtorch and, on CPU, every system BLAS present (OpenBLAS, BLIS): ratios are against the best of
    /// them, the machine's real limit, not only libtorch's. Two sizes because on a shared machine a product whose
    /// operands spill out of the caches is slowed by the other jobs' memory traffic more than the model's smaller
    /// GEMMs are.
    /// </summary>
    public double MeasureGemmPeak()
    {
        foreach (var n in Context.IsCuda ? new[] { 4096, 8192 } : new[] { 1024, 2048 })
        {
            using var a = randn(new long[] { n, n }, device: Context.Device);
            using var b = randn(new long[] { n, n }, device: Context.Device);
            var timing = TimeUntilSettled(() => { using var r = a.mm(b); });
            var best = FlopCounter.SquareMatmul(n) / timing.Min / 1e9;
            Values[$"gemm_{n}_best_gflops"] = best;
            Values[$"gemm_{n}_median_gflops"] = FlopCounter.SquareMatmul(n) / timing.Median / 1e9;
            Console.WriteLine($"  fp32 GEMM {n}x{n} (libtorch): {best:N1} GFLOP/s best, {Values[$"gemm_{n}_median_gflops"]:N1} median");
            if (best > GemmPeakGflops)
            {
                GemmPeakGflops = best;
                GemmPeakSize = n;
                Values["gemm_median_gflops"] = Values[$"gemm_{n}_median_gflops"];
            }
        }
        LibTorchGemmPeakGflops = GemmPeakGflops;
        Values["gemm_libtorch_peak_gflops"] = LibTorchGemmPeakGflops;
        if (!Context.IsCuda)
        {
            foreach (var blas in GemmLibrary.Available)
            {
                var n = GemmPeakSize;
                using var a = randn(new long[] { n, n });
                using var b = randn(new long[] { n, n });
                var timing = TimeUntilSettled(() => { using var r = GemmLinearFunction.Forward(blas, a, b, null); });
                var best = FlopCounter.SquareMatmul(n) / timing.Min / 1e9;
                Values[$"gemm_{blas.Name.ToLowerInvariant()}_peak_gflops"] = best;
                Console.WriteLine($"  fp32 GEMM {n}x{n} ({blas.Name}): {best:N1} GFLOP/s best");
                if (best > GemmPeakGflops)
                {
                    GemmPeakGflops = best;
                    GemmPeakLibrary = blas.Name;
                    Values["gemm_median_gflops"] = FlopCounter.SquareMatmul(n) / timing.Median / 1e9;
                }
            }
        }
        Values["gemm_peak_gflops"] = GemmPeakGflops;
        Notes.Add($"GEMM peak {GemmPeakGflops:N1} GFLOP/s from {GemmPeakLibrary} (libtorch's own: {LibTorchGemmPeakGflops:N1}); every '% of peak' is against the best library.");
        return GemmPeakGflops;
    }

    public void Write()
    {
        Directory.CreateDirectory(Context.OutputDirectory);
        var json = JsonSerializer.Serialize(new
        {
            suite = Suite,
            command = Command,
            machine = Machine,
            load_at_end = MachineInfo.LoadNow(),
            gemm_peak_gflops = GemmPeakGflops,
            values = Values,
            checks = Checks,
            notes = Notes,
            rows = Rows,
        }, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals });
        WriteAtomic(Path.Combine(Context.OutputDirectory, Suite + ".json"), json);
        WriteAtomic(Path.Combine(Context.OutputDirectory, Suite + ".md"), Markdown());
        RebuildPerformanceDoc(Context.OutputDirectory);
        Console.WriteLine($"  wrote {Path.Combine(Context.OutputDirectory, Suite + ".json")} and .md");
    }

    private string Markdown()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine($"## Suite `{Suite}`");
        sb.AppendLine();
        sb.AppendLine($"Command: `{Command}`  ");
        sb.AppendLine($"Machine: {Machine}  ");
        sb.AppendLine($"Load average at the end: {MachineInfo.LoadNow()}  ");
        if (GemmPeakGflops > 0)
            sb.AppendLine(string.Format(inv, "fp32 GEMM peak measured in this run: **{0:N1} GFLOP/s** (best run of the best size, {2}x{2}; its median {1:N1})",
                GemmPeakGflops, Values.GetValueOrDefault("gemm_median_gflops"), GemmPeakSize));
        sb.AppendLine();
        if (Checks.Count > 0)
        {
            sb.AppendLine("Targets:");
            sb.AppendLine();
            foreach (var c in Checks) sb.AppendLine($"- {c}");
            sb.AppendLine();
        }
        if (Rows.Count > 0)
        {
            sb.AppendLine("| group | workload | model | batch | tokens | image | ms median | ms best | images/s | GFLOP/image | GFLOP/s | best / GEMM peak | peak RSS MB | note |");
            sb.AppendLine("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
            foreach (var r in Rows)
                sb.AppendLine(string.Format(inv, "| {0} | {1} | {2} | {3} | {4} | {5} | {6:N1} | {7:N1} | {8:N1} | {9:N3} | {10:N1} | {11:P1} | {12:N0} | {13} |",
                    r.Group, r.Workload, r.Model, r.Batch, r.Tokens, r.ImageSize, r.MedianSeconds * 1e3, r.MinSeconds * 1e3,
                    r.ImagesPerSecond, r.FlopsPerImage / 1e9, r.GflopPerSecond, r.PeakFraction, r.PeakResidentMb, r.Note));
            sb.AppendLine();
        }
        foreach (var n in Notes) sb.AppendLine($"- {n}");
        if (Notes.Count > 0) sb.AppendLine();
        return sb.ToString();
    }

    private static void RebuildPerformanceDoc(string benchDirectory)
    {
        var docs = Directory.GetParent(Path.GetFullPath(benchDirectory))!.FullName;
        var sections = Directory.GetFiles(benchDirectory, "*.md")
            .OrderBy(f => { var i = Array.IndexOf(SectionOrder, Path.GetFileNameWithoutExtension(f)); return i < 0 ? 99 : i; })
            .ThenBy(f => f, StringComparer.Ordinal)
            .Select(File.ReadAllText);
        var intro = Path.Combine(benchDirectory, "..", "performance-intro.md");
        var head = File.Exists(intro) ? File.ReadAllText(intro) : "# Performance\n\n";
        WriteAtomic(Path.Combine(docs, "performance.md"), head.TrimEnd() + "\n\n" + string.Join("\n", sections));
    }

    private static void WriteAtomic(string path, string text)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }
}
