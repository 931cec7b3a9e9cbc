using System.Globalization;
using AdaptSharp.Models;
using AdaptSharp.Runtime;
using AdaptSharp.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AdaptSharp.Bench;

/// <summary>
/// Suite <c>ablation</c>: the speed levers, each measured against its alternative in the same run:
/// frozen vs trainable weights during an attack step (autograd.grad w.r.t. the input only), scaled-dot-product
/// attention vs softmax(QK^T)V (forward + input backward at the models' head shapes), torch threads 1 vs cores vs adaptive
/// (<see cref="AdaptiveThreads"/>), idle and under a busy process,
/// ADAPT's clean + adversarial outer forward batched vs separate, and the model's GEMMs on libtorch vs each system BLAS.
/// Options: --device, --repeats N (3), --quick, --only cpu-preset|vit-small, --groups patch,weights,attention,feedforward,threads,outer,gemm.
/// </summary>
public static class AblationBenchmark
{
    public static int Run(string[] args) => Run(new BenchContext(args), "ablation");

    public static int Run(BenchContext context, string suite)
    {
        var report = new BenchReport(suite, context, $"dotnet run -c Release --project bench/AdaptSharp.Bench -- {suite} {string.Join(' ', context.Args)}".TrimEnd());
        Console.WriteLine($"== {suite}: {report.Machine}");
        report.MeasureGemmPeak();
        var shapes = Workloads.Standard(context);
        var only = context.StringOption("--only", null);
        var groups = context.StringOption("--groups", null)?.Split(',');
        bool Wanted(string group) => groups is null || groups.Contains(group);
        foreach (var shape in new[] { shapes[0], shapes[2] with { Batch = Math.Max(2, shapes[2].Batch / 2) } }.Where(s => only is null || s.Label == only))
        {
            if (Wanted("patch")) PatchEmbedding(report, context, shape);
            if (Wanted("weights")) FrozenVsTrainable(report, context, shape);
            if (Wanted("attention")) Attention(report, context, shape);
            if (Wanted("feedforward")) FeedForward(report, context, shape);
            if (Wanted("threads")) Threads(report, context, shape);
            if (Wanted("outer")) BatchedOuter(report, context, shape);
            if (Wanted("gemm")) GemmRoutes(report, context, shape);
        }
        report.Notes.Add("Each pair is measured back to back in one process; compare 'ms best' within a pair.");
        report.Write();
        return 0;
    }

    private static void FrozenVsTrainable(BenchReport report, BenchContext context, Workloads.Shape shape)
    {
        using var scope = NewDisposeScope();
        using var model = Workloads.Model(shape, context.Device);
        var (x, y) = Workloads.Batch(shape.Config, shape.Batch, context.Device);
        var name = $"{shape.Label} {shape.Prompts}";
        var flops = FlopCounter.AttackStep(shape.Config, shape.Prompts);
        model.SetTrainable(TrainableSet.Backbone | TrainableSet.Prompts);
        var all = report.Measure("weights", "attack step, all weights trainable", name, shape.Batch, shape.Tokens, shape.Config.ImageSize, flops,
            Workloads.AttackStep(model, x, y));
        model.SetTrainable(TrainableSet.Prompts | TrainableSet.Head | TrainableSet.PatchEmbed);
        var tuning = report.Measure("weights", "attack step, prompt-tuning set", name, shape.Batch, shape.Tokens, shape.Config.ImageSize, flops,
            Workloads.AttackStep(model, x, y));
        model.SetTrainable(TrainableSet.None);
        var frozen = report.Measure("weights", "attack step, all frozen", name, shape.Batch, shape.Tokens, shape.Config.ImageSize, flops,
            Workloads.AttackStep(model, x, y));
        report.Values[$"{shape.Label}_attack_trainable_over_frozen"] = all.MinSeconds / frozen.MinSeconds;
        report.Values[$"{shape.Label}_attack_tuning_over_frozen"] = tuning.MinSeconds / frozen.MinSeconds;
    }

    private static void PatchEmbedding(BenchReport report, BenchContext context, Workloads.Shape shape)
    {
        using var scope = NewDisposeScope();
        var c = shape.Config;
        var (x, _) = Workloads.Batch(c, shape.Batch, context.Device);
        var g = new Generator(7);
        using var weight = randn(new long[] { c.Width, c.InChannels, c.PatchSize, c.PatchSize }, generator: g).to(context.Device);
        using var bias = zeros(new long[] { c.Width }, device: context.Device);
        var flops = 2 * FlopCounter.PatchEmbedding(c);
        var (p, grid) = ((long)c.PatchSize, (long)c.GridSize);
        var name = $"{shape.Label} {c.InChannels}x{c.ImageSize}^2 p{p}";
        report.Measure("patch", "conv2d, fwd + input grad", name, shape.Batch, shape.Tokens, c.ImageSize, flops, InputGradientStep(x,
            input => F.conv2d(input, weight, bias, strides: new[] { p, p }).flatten(2).transpose(1, 2)));
        report.Measure("patch", "unfold + linear, fwd + input grad", name, shape.Batch, shape.Tokens, c.ImageSize, flops, InputGradientStep(x, input =>
        {
            var patches = input.reshape(x.shape[0], c.InChannels, grid, p, grid, p).permute(0, 2, 4, 1, 3, 5)
                .reshape(x.shape[0], grid * grid, c.InChannels * p * p);
            return F.linear(patches, weight.reshape(c.Width, -1), bias);
        }));
    }

    private static void Attention(BenchReport report, BenchContext context, Workloads.Shape shape)
    {
        using var scope = NewDisposeScope();
        var c = shape.Config;
        var (b, h, t, d) = ((long)shape.Batch, (long)c.Heads, (long)shape.Tokens, (long)(c.Width / c.Heads));
        var g = new Generator(5);
        using var qkv = randn(new long[] { 3, b, h, t, d }, generator: g).to(context.Device);
        var flops = 3.0 * FlopCounter.BlockAttention(c, shape.Tokens); // forward + both-operand backward
        var name = $"{shape.Label} (B{b} H{h} T{t} d{d})";
        var alternatives = new List<(string Workload, Action Action)>
        {
            ("scaled_dot_product_attention", InputGradientStep(qkv, input => F.scaled_dot_product_attention(input[0], input[1], input[2]))),
            ("softmax(QK^T)V", InputGradientStep(qkv, input => matmul(softmax(matmul(input[0], input[1].transpose(-2, -1)) * (1.0 / Math.Sqrt(d)), -1), input[2]))),
        };
        using var packed = randn(new long[] { b, t, 3 * h * d }, generator: g);
        var shortSequence = !context.IsCuda && ShortSequenceAttentionFunction.Takes(packed, (int)h);
        if (shortSequence)
        {
            // What SelfAttention runs on short fp32 sequences, from the packed projection (B, T, 3·W) to the merged heads
            // (B, T, W): the vectorised pass, against libtorch's products with the head split and merge the model needs.
            alternatives.Add(("softmax(QK^T)V from packed qkv to merged heads", InputGradientStep(packed, input =>
            {
                var parts = input.reshape(b, t, 3, h, d).permute(2, 0, 3, 1, 4).unbind(0);
                var scores = matmul(parts[0], parts[1].transpose(-2, -1)) * (1.0 / Math.Sqrt(d));
                return matmul(softmax(scores, -1), parts[2]).transpose(1, 2).reshape(b, t, h * d);
            })));
            alternatives.Add(("short-sequence kernel, packed qkv to merged heads", InputGradientStep(packed, input => ShortSequenceAttentionFunction.Apply(input, (int)h))));
        }
        // What a routed model runs (SelfAttention on a system-BLAS route): the same products from the packed projection.
        IReadOnlyList<GemmLibrary> libraries = context.IsCuda ? [] : GemmLibrary.Available;
        foreach (var library in libraries)
            alternatives.Add(($"{library.Name} per-head products (routed)", InputGradientStep(packed, input => GemmAttentionFunction.Apply(library, input, (int)h))));
        var rows = report.MeasureInterleaved("attention", name, shape.Batch, shape.Tokens, c.ImageSize, flops, alternatives);
        double Min(string workload) => rows.Single(r => r.Workload == workload).MinSeconds;
        report.Values[$"{shape.Label}_manual_over_sdpa"] = Min("softmax(QK^T)V") / Min("scaled_dot_product_attention");
        if (shortSequence)
            report.Values[$"{shape.Label}_short_sequence_over_explicit"] = Min("short-sequence kernel, packed qkv to merged heads") / Min("softmax(QK^T)V from packed qkv to merged heads");
        foreach (var library in libraries)
            report.Values[$"{shape.Label}_{library.Name.ToLowerInvariant()}_over_sdpa"] = Min($"{library.Name} per-head products (routed)") / Min("scaled_dot_product_attention");
    }

    /// <summary>
    /// A block's MLP with frozen parameters, forward + input gradient, on the AVX-512 kernel: the fused function (one pass
    /// over blocks of rows, <see cref="GemmFeedForwardFunction"/>) against its parts (two routed linear layers and
    /// libtorch's GELU between them), interleaved. Only at routed widths on CPUs with AVX-512.
    /// </summary>
    private static void FeedForward(BenchReport report, BenchContext context, Workloads.Shape shape)
    {
        var c = shape.Config;
        if (context.IsCuda || Avx512GemmLibrary.Instance is not { } kernel || c.Width < GemmRouting.MinDimension)
            return;
        using var scope = NewDisposeScope();
        var (rows, width, hidden) = ((long)shape.Batch * shape.Tokens, (long)c.Width, 4L * c.Width);
        var g = new Generator(9);
        var x = randn(new long[] { rows, width }, generator: g);
        var (w1, b1) = (randn(new long[] { hidden, width }, generator: g) / Math.Sqrt(width), randn(new long[] { hidden }, generator: g) * 0.1);
        var (w2, b2) = (randn(new long[] { width, hidden }, generator: g) / Math.Sqrt(hidden), randn(new long[] { width }, generator: g) * 0.1);
        var weights = new GemmFeedForwardFunction.Weights(w1, b1, w2, b2);
        var flops = 2.0 * 2 * 2 * rows * width * hidden / shape.Batch; // two products, forward and input gradient, per image
        var name = $"{shape.Label} ({rows} x {width} -> {hidden})";
        var rowsMeasured = report.MeasureInterleaved("feedforward", name, shape.Batch, shape.Tokens, c.ImageSize, flops,
        [
            ("fc1, GELU, fc2 as three operators", InputGradientStep(x, input =>
                GemmLinearFunction.Apply(kernel, F.gelu(GemmLinearFunction.Apply(kernel, input, w1, b1)), w2, b2))),
            ("fused over blocks of rows", InputGradientStep(x, input => GemmFeedForwardFunction.Apply(input, weights))),
        ]);
        report.Values[$"{shape.Label}_fused_feedforward_over_parts"] = rowsMeasured[1].MinSeconds / rowsMeasured[0].MinSeconds;
    }

    /// <summary>One timed call: <paramref name="output"/> of a fresh copy of <paramref name="source"/> and the input gradient of its sum of squares.</summary>
    private static Action InputGradientStep(Tensor source, Func<Tensor, Tensor> output) => () =>
    {
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        var input = source.detach().clone();
        input.requires_grad_(true);
        autograd.grad(new[] { output(input).square().sum() }, new[] { input });
    };

    private static void Threads(BenchReport report, BenchContext context, Workloads.Shape shape)
    {
        if (context.IsCuda) return;
        using var scope = NewDisposeScope();
        using var model = Workloads.Model(shape, context.Device);
        model.SetTrainable(TrainableSet.Prompts | TrainableSet.Head | TrainableSet.PatchEmbed);
        model.eval();
        var (x, y) = Workloads.Batch(shape.Config, shape.Batch, context.Device);
        var name = $"{shape.Label} {shape.Prompts}";
        var flops = FlopCounter.AttackStep(shape.Config, shape.Prompts);
        var cores = Environment.ProcessorCount;
        var before = get_num_threads();
        var policy = $"OMP_WAIT_POLICY={Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") ?? "(unset)"}";
        // Blocks of attack steps (as many as take about 4 s at one thread, at least 8), the three settings interleaved
        // round by round so that the machine's drift falls on all alike; the adaptive rule keeps what it learnt across
        // its blocks, and its probes are paid inside them.
        set_num_threads(1);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        AttackSteps(model, x, y, 2, adaptive: false);
        var block = Math.Clamp((int)Math.Round(4.0 / (watch.Elapsed.TotalSeconds / 2)), 8, 200);
        var settings = new List<(string Label, int Threads, bool Adaptive)> { ("1 thread", 1, false) };
        if (cores > 1)
            settings.AddRange([($"{cores} threads", cores, false), ($"adaptive 1-{cores} threads", cores, true)]);
        try
        {
            var medians = new Dictionary<(bool Loaded, int Setting), double>();
            // Without and with a background load the benchmark makes itself: one busy-looping process, stopped after.
            foreach (var loaded in new[] { false, true })
            {
                using var load = loaded ? new BusyLoop() : null;
                AdaptiveThreads.Configure(cores, ThreadPolicy.Adaptive);
                var seconds = settings.Select(_ => new List<double>()).ToList();
                for (var round = -1; round < context.Repeats; round++)
                {
                    for (var k = 0; k < settings.Count; k++)
                    {
                        var i = (k + Math.Max(round, 0)) % settings.Count;
                        set_num_threads(settings[i].Threads);
                        watch.Restart();
                        AttackSteps(model, x, y, block, settings[i].Adaptive);
                        if (round >= 0) // round -1 warms up (and lets the adaptive rule learn)
                            seconds[i].Add(watch.Elapsed.TotalSeconds / block);
                    }
                }
                for (var i = 0; i < settings.Count; i++)
                {
                    var timing = Timing.From(seconds[i].ToArray());
                    medians[(loaded, i)] = timing.Median;
                    report.Add(new BenchRow("threads", $"attack step, {settings[i].Label}{(loaded ? ", 1 busy process" : "")}", name,
                        shape.Batch, shape.Tokens, shape.Config.ImageSize, timing.Median, timing.Min, shape.Batch / timing.Median, flops,
                        flops * shape.Batch / timing.Median / 1e9,
                        report.GemmPeakGflops > 0 ? flops * shape.Batch / timing.Min / 1e9 / report.GemmPeakGflops : double.NaN, double.NaN,
                        $"{block}-step blocks, interleaved; {policy}{(settings[i].Adaptive ? "; " + AdaptiveThreads.Summary : "")}"));
                }
            }
            if (cores > 1)
            {
                var idle = medians[(false, 0)] / medians[(false, 2)];
                var busy = medians[(true, 0)] / medians[(true, 2)];
                report.Check($"{name}: adaptive {cores} threads >= 1.6x one thread idle", idle >= 1.6,
                    string.Create(CultureInfo.InvariantCulture, $"{idle:N2}x (fixed {cores}: {medians[(false, 0)] / medians[(false, 1)]:N2}x)"));
                report.Check($"{name}: adaptive {cores} threads never slower than one thread under 1 busy process", busy >= 1.0,
                    string.Create(CultureInfo.InvariantCulture, $"{busy:N2}x (fixed {cores}: {medians[(true, 0)] / medians[(true, 1)]:N2}x)"));
            }
        }
        finally
        {
            AdaptiveThreads.Configure(before, ThreadPolicy.Fixed);
            set_num_threads(before);
        }
    }

    /// <summary>
    /// <paramref name="steps"/> attack steps (<see cref="Workloads.AttackStep"/>): through the prompted view, whose forward
    /// lets <see cref="AdaptiveThreads"/> choose the count, or straight through the model at the count set.
    /// </summary>
    private static void AttackSteps(VisionTransformer model, Tensor x, Tensor y, int steps, bool adaptive)
    {
        var step = Workloads.AttackStep(model, x, y, throughView: adaptive);
        for (var i = 0; i < steps; i++)
            step();
        if (adaptive)
            AdaptiveThreads.Settle(); // the block's last step ends here, not when the next adaptive block starts
    }

    /// <summary>
    /// A bounded CPU load: one process spinning until disposed (as another user's job would be; the adaptive count reads
    /// other processes' CPU time, see <see cref="OtherProcessesLoad"/>), or one thread of this process where there is no /bin/sh.
    /// </summary>
    private sealed class BusyLoop : IDisposable
    {
        private volatile bool stop;
        private readonly Thread? thread;
        private readonly System.Diagnostics.Process? process;

        public BusyLoop()
        {
            if (File.Exists("/bin/sh"))
            {
                var start = new System.Diagnostics.ProcessStartInfo("/bin/sh") { UseShellExecute = false };
                start.ArgumentList.Add("-c");
                // spins while the bench lives, so that a bench killed before Dispose leaves no busy process behind
                start.ArgumentList.Add("while kill -0 $PPID 2>/dev/null; do :; done");
                process = System.Diagnostics.Process.Start(start);
                return;
            }
            thread = new Thread(() =>
            {
                var x = 0UL;
                while (!stop) x = x * 6364136223846793005UL + 1442695040888963407UL;
                GC.KeepAlive(x);
            })
            { IsBackground = true, Name = "bench busy loop" };
            thread.Start();
        }

        public void Dispose()
        {
            stop = true;
            thread?.Join();
            if (process is not null)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                process.Dispose();
            }
        }
    }

    /// <summary>
    /// The model's GEMMs on each route (<see cref="GemmRouting"/>): libtorch and every installed system BLAS, forward and
    /// attack step, back to back; and how far each route's logits and input gradients are from libtorch's, against their
    /// magnitudes. The route the process would choose by itself is noted.
    /// </summary>
    private static void GemmRoutes(BenchReport report, BenchContext context, Workloads.Shape shape)
    {
        if (context.IsCuda || shape.Config.Width < GemmRouting.MinDimension)
            return;
        using var scope = NewDisposeScope();
        using var model = Workloads.Model(shape, context.Device);
        model.SetTrainable(TrainableSet.Prompts | TrainableSet.Head | TrainableSet.PatchEmbed);
        var (x, y) = Workloads.Batch(shape.Config, shape.Batch, context.Device);
        var name = $"{shape.Label} {shape.Prompts}";
        var chosen = GemmRouting.Route;
        var routes = new[] { GemmRoute.LibTorch("bench") }.Concat(GemmLibrary.Available.Select(l => new GemmRoute(l, "bench"))).ToList();
        (Tensor Logits, Tensor Gradient)? reference = null;
        foreach (var route in routes)
        {
            using (GemmRouting.Force(route))
            {
                var outputs = Workloads.LogitsAndInputGradient(model, x, y);
                var agreement = "";
                if (reference is { } r)
                {
                    var logitError = (outputs.Logits - r.Logits).abs().max().ToDouble() / r.Logits.abs().max().ToDouble();
                    var gradError = (outputs.InputGradient - r.Gradient).abs().max().ToDouble() / r.Gradient.abs().max().ToDouble();
                    report.Values[$"{shape.Label}_{route.Name.ToLowerInvariant()}_logit_error"] = logitError;
                    report.Values[$"{shape.Label}_{route.Name.ToLowerInvariant()}_gradient_error"] = gradError;
                    agreement = $"vs libtorch: largest logit difference / largest logit {logitError:E1}, same for the input gradient {gradError:E1}";
                }
                else
                {
                    reference = (outputs.Logits.DetachFromDisposeScope(), outputs.InputGradient.DetachFromDisposeScope());
                }
                report.Measure("gemm", $"forward, GEMMs on {route.Name}", name, shape.Batch, shape.Tokens, shape.Config.ImageSize,
                    FlopCounter.Forward(shape.Config, shape.Prompts), Workloads.Forward(model, x));
                var row = report.Measure("gemm", $"attack step, GEMMs on {route.Name}", name, shape.Batch, shape.Tokens, shape.Config.ImageSize,
                    FlopCounter.AttackStep(shape.Config, shape.Prompts), Workloads.AttackStep(model, x, y), note: agreement);
                report.Values[$"{shape.Label}_attack_{route.Name.ToLowerInvariant()}_best_ms"] = row.MinSeconds * 1e3;
                // Resident memory over 30 more attack steps (after 10 to settle): a route's autograd nodes must be freed with their graph.
                var step = Workloads.AttackStep(model, x, y);
                for (var i = 0; i < 10; i++)
                    step();
                var before = BenchContext.ResidentMb();
                for (var i = 0; i < 30; i++)
                {
                    step();
                    if (i % 10 == 9)
                        Console.WriteLine($"  {route.Name}: resident memory {BenchContext.ResidentMb() - before:+0;-0} MB after {i + 1} more attack steps");
                }
                var growth = BenchContext.ResidentMb() - before;
                report.Values[$"{shape.Label}_attack_{route.Name.ToLowerInvariant()}_rss_growth_mb_30_steps"] = growth;
            }
        }
        report.Notes.Add($"GEMM route this process chose by itself (ADAPT_GEMM unset or auto): {chosen}.");
    }

    private static void BatchedOuter(BenchReport report, BenchContext context, Workloads.Shape shape)
    {
        using var scope = NewDisposeScope();
        using var model = Workloads.Model(shape, context.Device);
        model.SetTrainable(TrainableSet.Prompts | TrainableSet.Head | TrainableSet.PatchEmbed);
        var (x, y) = Workloads.Batch(shape.Config, shape.Batch, context.Device);
        var (adv, _) = Workloads.Batch(shape.Config, shape.Batch, context.Device, seed: 2);
        var name = $"{shape.Label} {shape.Prompts}";
        var trainable = TrainableSet.Prompts | TrainableSet.Head | TrainableSet.PatchEmbed;
        var flops = 2 * (FlopCounter.Forward(shape.Config, shape.Prompts) + FlopCounter.TrainingBackward(shape.Config, shape.Prompts, trainable));
        foreach (var batched in new[] { false, true })
        {
            var objective = new TrainingObjective(ObjectiveKind.AdaptCe, new InnerAttackOptions(0.1, 0.025, 1)) { BatchCleanAndAdversarial = batched };
            report.Measure("outer", $"adapt-ce outer loss + backward, {(batched ? "one batched forward" : "two forwards")}", name, shape.Batch,
                shape.Tokens, shape.Config.ImageSize, flops, () =>
                {
                    using var s = NewDisposeScope();
                    model.zero_grad();
                    using var output = objective.Loss(model, x, adv, y);
                    output.Loss.backward();
                });
        }
    }
}
