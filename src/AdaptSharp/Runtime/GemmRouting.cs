using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Runtime;

/// <summary>
/// Routes the model's large fp32 CPU GEMMs (qkv, proj, fc1, fc2, patch embedding; forward and both gradients; and the
/// per-head products of long sequences' attention, <see cref="AttentionLibrary"/>) to the fastest library present:
/// libtorch's own (MKL inside), a system BLAS (<see cref="CblasLibrary"/>) or, on CPUs with AVX-512, this project's
/// kernel (<see cref="Avx512GemmLibrary"/>), when it is faster on this CPU. ADAPT_GEMM=libtorch|openblas|blis|avx512
/// forces one; unset (or auto) measures once per machine, on fixed ViT-sized shapes, keeps libtorch unless a library is
/// at least <see cref="Margin"/>x faster, and stores the choice (<see cref="GemmRouteStore"/>) for every later process;
/// ADAPT_GEMM=calibrate measures again. Small products (the CPU presets' width 48-64) and CUDA stay off the route: on a
/// CPU with AVX-512 the narrow ones (<see cref="TakesNarrow"/>) run on the AVX-512 kernel whatever the route, unless
/// ADAPT_GEMM=libtorch, and the rest on libtorch.
/// </summary>
internal static class GemmRouting
{
    public const string Variable = "ADAPT_GEMM";

    /// <summary>A library replaces libtorch only when it is at least this much faster on the calibration shapes.</summary>
    public const double Margin = 1.10;

    /// <summary>Products with a smaller inner or output dimension stay on libtorch (vit-tiny's width 192 is routed).</summary>
    public const int MinDimension = 128;

    private static readonly object Gate = new();
    private static Lazy<GemmRoute> route = new(Choose);

    /// <summary>
    /// ADAPT_GEMM=libtorch: every product on libtorch, the narrow ones (<see cref="TakesNarrow"/>) too. Read once,
    /// as the route is, without choosing the route (that would calibrate for a model with no wide product).
    /// </summary>
    private static readonly Lazy<bool> LibTorchForced =
        new(() => Environment.GetEnvironmentVariable(Variable)?.Trim().Equals("libtorch", StringComparison.OrdinalIgnoreCase) == true);

    /// <summary>The route of this process (chosen on first use).</summary>
    public static GemmRoute Route => route.Value;

    /// <summary>The route when it has been chosen already (describing a machine must not trigger a calibration).</summary>
    public static GemmRoute? RouteIfChosen => route.IsValueCreated ? route.Value : null;

    /// <summary>
    /// Uses <paramref name="forced"/> until the returned scope is disposed, which restores the route as it was (chosen or
    /// not yet): tests and the benchmark compare routes in one process.
    /// </summary>
    public static IDisposable Force(GemmRoute forced)
    {
        lock (Gate)
        {
            var previous = route;
            route = new Lazy<GemmRoute>(forced);
            return new RouteRestore(previous);
        }
    }

    private sealed class RouteRestore(Lazy<GemmRoute> previous) : IDisposable
    {
        public void Dispose()
        {
            lock (Gate)
                route = previous;
        }
    }

    /// <summary>
    /// linear(x, W, b) on the routed library (wide products), the AVX-512 kernel (narrow ones, <see cref="TakesNarrow"/>),
    /// or libtorch's when neither takes it, it is not fp32 or not on the CPU.
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias)
    {
        var (n, k) = (weight.shape[0], weight.shape[1]);
        if (x.device_type != DeviceType.CPU || x.dtype != ScalarType.Float32 || weight.dtype != ScalarType.Float32
            || x.numel() == 0 || !FitsOneSpan(x.numel() / k * Math.Max(n, k)))
            return nn.functional.linear(x, weight, bias);
        var library = n >= MinDimension && k >= MinDimension ? Route.Library
            : TakesNarrow(k, n) && !LibTorchForced.Value ? Avx512GemmLibrary.Instance
            : null;
        if (library is null)
            return nn.functional.linear(x, weight, bias);
        using var scope = NewDisposeScope();
        return GemmLinearFunction.Apply(library, x.reshape(-1, k).contiguous(), weight.contiguous(), bias)
            .reshape([.. x.shape[..^1], n]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Whether a feed-forward layer (width -> <paramref name="hidden"/> -> width) on <paramref name="x"/> runs fused
    /// (<see cref="GemmFeedForwardFunction"/>): the route's library is the AVX-512 kernel, both products are wide, x is
    /// fp32 on the CPU, the hidden width is whole vectors and the hidden activations fit one span.
    /// </summary>
    public static bool FusesFeedForward(Tensor x, long width, long hidden) =>
        x.device_type == DeviceType.CPU && x.dtype == ScalarType.Float32 && x.numel() > 0
        && width >= MinDimension && hidden >= MinDimension && hidden % 16 == 0
        && FitsOneSpan(x.numel() / width * hidden) && FitsOneSpan(x.numel())
        && Route.Library is Avx512GemmLibrary;

    /// <summary>
    /// Whether a product below the route's <see cref="MinDimension"/>, with inner dimension <paramref name="k"/> and
    /// <paramref name="n"/> outputs, runs on the AVX-512 kernel: the CPU has AVX-512 and both are multiples of 16 up to
    /// 256 (the input gradient's product has them swapped), or it is a classification head: fewer than
    /// <see cref="MinDimension"/> outputs that fill no whole vectors, from a width that is a multiple of 16. libtorch's
    /// MKL runs its AVX2 kernels on AMD CPUs: the demo model's 1,344 x 48 x 192 product at 81 GFLOP/s on one Zen 5 core,
    /// against 201 on the kernel. Heads are taken for their bits, not their speed: MKL's input gradient of a 10-class
    /// head (5 x 10 x 192) differs in the last row between one and two threads, and differs with the rows of the call,
    /// so the thread count and the lanes of <see cref="AdaptiveThreads"/> would change an attack's gradients; the kernel's
    /// rows depend on neither. The demo's patch embedding (inner 49) stays on libtorch.
    /// </summary>
    public static bool TakesNarrow(long k, long n) =>
        Avx512GemmLibrary.Instance is not null && k % 16 == 0 && k > 0 && n > 0
        && ((n % 16 == 0 && k <= 256 && n <= 256) || (n % 16 != 0 && n < MinDimension));

    /// <summary>
    /// The library for <see cref="GemmAttentionFunction"/> on a packed qkv projection (B, T, 3·W) with
    /// <paramref name="heads"/> heads, or null for libtorch's attention: libtorch's route, CUDA, not fp32, a width below
    /// <see cref="MinDimension"/>, or attention probabilities (B, H, T, T) above <see cref="MaxAttentionBytes"/>, which
    /// the routed backward keeps per block where libtorch's flash attention keeps one value per row.
    /// </summary>
    public static GemmLibrary? AttentionLibrary(Tensor packed, int heads) =>
        packed.device_type == DeviceType.CPU && packed.dtype == ScalarType.Float32 && packed.dim() == 3
        && packed.shape[2] / 3 >= MinDimension
        && packed.shape[0] * heads * packed.shape[1] * packed.shape[1] * sizeof(float) <= MaxAttentionBytes
        && FitsOneSpan(packed.numel())
            ? Route.Library
            : null;

    /// <summary>
    /// The largest attention-probability tensor per block the routed attention keeps for its backward (64 MiB: a
    /// vit-small attack at batch 4 keeps 4.7 MB per block, vit-base at batch 64 would keep 119 MB and stays on libtorch).
    /// </summary>
    public const long MaxAttentionBytes = 64L << 20;

    /// <summary>The library is handed TorchSharp's byte spans, which end at 2 GiB: larger operands stay on libtorch.</summary>
    private static bool FitsOneSpan(long elements) => elements * sizeof(float) <= int.MaxValue;

    private const string NoLibrary = "no system BLAS installed and no AVX-512";

    private static GemmRoute Choose() =>
        FromSetting(Environment.GetEnvironmentVariable(Variable), fresh => Stored(GemmRouteStore.Default, GemmLibrary.Available, Calibrate, fresh));

    /// <summary>
    /// The route an ADAPT_GEMM value asks for: <paramref name="choose"/>(false) for unset or auto, (true) for calibrate;
    /// a bad value is a one-line error.
    /// </summary>
    internal static GemmRoute FromSetting(string? setting, Func<bool, GemmRoute> choose)
    {
        var asked = setting?.Trim().ToLowerInvariant();
        if (asked is null or "" or "auto" or "calibrate")
            return choose(asked == "calibrate");
        if (asked == "libtorch")
            return GemmRoute.LibTorch($"set by {Variable}");
        var library = GemmLibrary.Available.FirstOrDefault(l => l.Name.Equals(asked, StringComparison.OrdinalIgnoreCase));
        return library is null
            ? throw new ArgumentException($"{Variable}={setting}: expected auto, calibrate, libtorch, openblas, blis or avx512, and the library must be installed " +
                                          $"or the CPU run it (here: {string.Join(", ", GemmLibrary.Available.Select(l => l.Name).DefaultIfEmpty("none"))})")
            : new GemmRoute(library, $"set by {Variable}");
    }

    /// <summary>
    /// The route stored for this machine and these libraries, else (or when <paramref name="fresh"/>) a new calibration,
    /// stored for the next process. A stored library that is no longer installed counts as none stored.
    /// </summary>
    internal static GemmRoute Stored(GemmRouteStore store, IReadOnlyList<GemmLibrary> libraries, Func<GemmRoute> calibrate, bool fresh)
    {
        if (libraries.Count == 0)
            return GemmRoute.LibTorch(NoLibrary);
        var key = GemmRouteStore.MachineKey(libraries);
        if (!fresh && store.Load(key) is { } entry)
        {
            var library = libraries.FirstOrDefault(l => l.Name == entry.Route);
            if (library is not null || entry.Route == GemmRoute.LibTorchName)
                return new GemmRoute(library, $"calibrated {entry.Calibrated}, {entry.Measured}; stored in {store.Path}");
        }
        var route = calibrate();
        store.Save(key, new GemmRouteStore.Entry(route.Name, route.Reason, GemmRouteStore.Now()));
        return route;
    }

    /// <summary>
    /// Times what a route changes in a ViT-small block, on libtorch and on every installed library, interleaved, best of
    /// several runs at the current thread count: the two products of its MLP (forward x·Wᵀ and input gradient dY·W,
    /// 1,024 rows) and its attention forward and backward (batch 2, 222 tokens: libtorch's
    /// scaled_dot_product_attention against <see cref="GemmAttentionFunction"/>).
    /// </summary>
    internal static GemmRoute Calibrate()
    {
        if (GemmLibrary.Available.Count == 0)
            return GemmRoute.LibTorch(NoLibrary);
        using var scope = NewDisposeScope();
        // The first routed product may come inside no_grad (an evaluation's forward); the attention is timed with its backward.
        using var gradients = enable_grad();
        var generator = new Generator(0);
        var x = randn(1024, 384, generator: generator);
        var w = randn(1536, 384, generator: generator);
        var dy = randn(1024, 1536, generator: generator);
        var wt = w.t().contiguous();
        const int heads = 6;
        var packed = randn(2, 222, 3 * 384, generator: generator);
        var candidates = new List<(GemmLibrary? Library, Action Run)>
        {
            (null, () =>
            {
                using var products = NewDisposeScope();
                using (no_grad())
                {
                    nn.functional.linear(x, w);
                    dy.mm(w);
                }
                var input = packed.detach().requires_grad_(true);
                var qkv = input.reshape(2, 222, 3, heads, 64).permute(2, 0, 3, 1, 4).unbind(0);
                var merged = nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]).transpose(1, 2).reshape(2, 222, 384);
                autograd.grad([merged.sum()], [input]);
            }),
        };
        foreach (var library in GemmLibrary.Available)
            candidates.Add((library, () =>
            {
                using var products = NewDisposeScope();
                using (no_grad())
                {
                    GemmLinearFunction.Forward(library, x, w, null);
                    GemmLinearFunction.Forward(library, dy, wt, null);
                }
                var input = packed.detach().requires_grad_(true);
                autograd.grad([GemmAttentionFunction.Apply(library, input, heads).sum()], [input]);
            }
            ));
        var best = new double[candidates.Count];
        Array.Fill(best, double.MaxValue);
        for (var round = 0; round < 5; round++)
        {
            for (var i = 0; i < candidates.Count; i++)
            {
                var watch = Stopwatch.StartNew();
                candidates[i].Run();
                best[i] = Math.Min(best[i], watch.Elapsed.TotalSeconds);
            }
        }
        var fastest = Enumerable.Range(1, candidates.Count - 1).MinBy(i => best[i]);
        var speedup = best[0] / best[fastest];
        var measured = string.Join(", ", candidates.Select((c, i) => $"{c.Library?.Name ?? "libtorch"} {best[i] * 1e3:N1} ms"));
        return speedup >= Margin
            ? new GemmRoute(candidates[fastest].Library, $"measured: {measured}")
            : GemmRoute.LibTorch($"measured: {measured}");
    }
}
