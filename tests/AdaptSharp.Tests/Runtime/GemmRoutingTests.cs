using AdaptSharp.Models;
using AdaptSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Runtime;

/// <summary>
/// The system-BLAS GEMM route computes what libtorch's linear computes: forward and every gradient within float32
/// rounding of float64 arithmetic (the reference is a float64 product, never a float32 libtorch kernel: those differ
/// across CPUs), for the function alone and for a whole prompted ViT. Tolerances come from the magnitudes: a K-term
/// float32 dot product is off by at most about K·u·Σ|a·b| (u = 2^-24).
/// </summary>
[Collection(GemmRoutingCollection.Name)]
public class GemmRoutingTests
{
    private const double Unit = LinearFloat64Reference.Unit;

    [SystemBlasFact]
    public void EveryLibraryGivesTheLinearForwardAndAllThreeGradientsWithinFloat32Rounding()
    {
        Assert.NotEmpty(GemmLibrary.Available);
        using var scope = NewDisposeScope();
        var g = new Generator(11);
        const int m = 37, k = 260, n = 301;
        var x = randn(m, k, generator: g);
        var w = randn(n, k, generator: g) * 0.1;
        var b = randn(n, generator: g);
        var r = randn(m, n, generator: g);
        var reference = new LinearFloat64Reference(x, w, b, r);
        foreach (var library in GemmLibrary.Available)
        {
            var (xv, wv, bv) = (x.clone().requires_grad_(true), w.clone().requires_grad_(true), b.clone().requires_grad_(true));
            var y = GemmLinearFunction.Apply(library, xv, wv, bv);
            var grads = autograd.grad([(y * r).sum()], [xv, wv, bv]);
            Assert.Equal(new[] { "37x260", "301x260", "301" }, grads.Select(t => string.Join("x", t.shape)));
            reference.AssertForward(library.Name, y);
            reference.AssertGradients(library.Name, grads);

            // Frozen weights and bias (an attack's input gradient): only dx is asked for and computed; the bias is added by
            // the product as it stores its rows.
            var frozen = GemmLinearFunction.Apply(library, xv, w, b);
            reference.AssertForward(library.Name + ", frozen bias", frozen);
            reference.AssertInputGradient(library.Name + ", frozen weights", autograd.grad([(frozen * r).sum()], [xv])[0]);
        }
    }

    [SystemBlasTheory]
    [InlineData(32)] // 7 tokens: the explicit attention on libtorch, the products routed
    [InlineData(64)] // 67 tokens: the attention routed too
    public void APromptedVitOnEveryRouteMatchesItsFloat64TwinWithinTheLibTorchRoutesOwnError(int imageSize)
    {
        using var scope = NewDisposeScope();
        using var model = WideTinyVit(depth: 2, imageSize);
        var g = new Generator(5);
        var images = rand(6, 3, imageSize, imageSize, generator: g);
        var labels = randint(0, 5, [6], generator: g);
        List<Tensor> exact, libtorch;
        using (GemmRouting.Force(GemmRoute.LibTorch("test")))
        {
            model.to(float64);
            exact = Outputs(model, images.to(float64), labels);
            model.to(float32);
            libtorch = Outputs(model, images, labels);
        }
        foreach (var library in GemmLibrary.Available)
        {
            using var forced = GemmRouting.Force(new GemmRoute(library, "test"));
            var routed = Outputs(model, images, labels);
            for (var i = 0; i < exact.Count; i++)
            {
                var scale = exact[i].abs().max().ToDouble();
                var libtorchError = (libtorch[i].to(float64) - exact[i]).abs().max().ToDouble();
                var routedError = (routed[i].to(float64) - exact[i]).abs().max().ToDouble();
                // Both routes round in float32; neither may be far from the float64 twin: within 10x the libtorch route's own
                // error, and in any case within 1,024 · u of the output's magnitude (1,024: the MLP's longest dot product).
                var bound = Math.Max(10 * libtorchError, 1024 * Unit * scale);
                Assert.True(routedError <= bound,
                    $"{library.Name}, output {i}: max error {routedError:G3} vs float64 (libtorch route {libtorchError:G3}, bound {bound:G3}, scale {scale:G3})");
            }
        }
    }

    /// <summary>
    /// The routed product cuts its rows into blocks for a planned thread count, each block a single-threaded library
    /// call at its own offset: for every plan, every entry is within float32 rounding of the float64 product, and the
    /// bits are the same whichever number of threads runs the blocks. 1,000 rows: the blocks of 2, 3 and 7 start off
    /// every multiple of 12 and 64 (OpenBLAS's Haswell kernels give other bits to a row 12 apart from where it was).
    /// </summary>
    [SystemBlasFact]
    public void TheRoutedProductCutForAPlannedCountIsRightAndTheSameBitsAtEveryRunningCount()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(9);
        var x = randn(1000, 384, generator: g);
        var w = randn(590, 384, generator: g); // not a multiple of 32: the AVX-512 kernel's last panel is partial
        var bias = randn(590, generator: g);
        var exact = x.to(float64).mm(w.to(float64).t()) + bias.to(float64);
        var bound = 384 * Unit * (x.abs().to(float64).mm(w.abs().to(float64).t()) + bias.abs().to(float64));
        using var restore = new ThreadCountRestore();
        foreach (var library in GemmLibrary.Available)
        {
            foreach (var planned in new[] { 1, 2, 3, 7 })
            {
                Tensor? first = null;
                foreach (var running in new[] { 1, 2, 3 })
                {
                    set_num_threads(running);
                    var y = GemmLinearFunction.Forward(library, x, w, bias, planned);
                    Assert.True((y.to(float64) - exact).abs().le(bound).all().item<bool>(), $"{library.Name}, planned {planned}, at {running} threads");
                    first ??= y;
                    Assert.True(y.equal(first).all().item<bool>(), $"{library.Name}, planned {planned}: other bits at {running} threads than at 1");
                }
            }
        }
    }

    /// <summary>
    /// Attack steps through the prompted view, with the adaptive count switching between one and two threads at every
    /// step, give the bits of steps at a fixed two threads: the routed products keep the blocks of the configured count
    /// at every count (538 rows, blocks of 269; before, blocks cut by the current count made the check before the first
    /// chosen count fail and the count stay fixed on OpenBLAS's Haswell kernels).
    /// </summary>
    [SystemBlasFact]
    public void AttackStepsOnTheBlasRouteGiveTheConfiguredCountsBitsWhileTheCountAlternates()
    {
        using var model = WideTinyVit(depth: 1, imageSize: 64);
        using var images = rand(8, 3, 64, 64, generator: new Generator(5));
        using var labels = randint(0, 5, [8], generator: new Generator(6));
        using var restore = new ThreadCountRestore(adaptive: true);
        foreach (var library in GemmLibrary.Available)
        {
            using var forced = GemmRouting.Force(new GemmRoute(library, "test"));
            set_num_threads(2);
            AdaptiveThreads.Configure(2, ThreadPolicy.Fixed);
            var (logits, gradient) = LogitsAndInputGradient(model, images, labels);
            AdaptiveThreads.Configure(2, ThreadPolicy.Alternate);
            for (var step = 0; step < 4; step++)
            {
                var (l, d) = LogitsAndInputGradient(model, images, labels);
                Assert.True(l.equal(logits).all().item<bool>() && d.equal(gradient).all().item<bool>(), $"{library.Name}, step {step}: other bits than at a fixed count");
            }
            Assert.Matches(@"alternate threads: \d+ steps at [12], \d+ steps at [12]$", AdaptiveThreads.Summary);
        }
    }

    private static (Tensor Logits, Tensor InputGradient) LogitsAndInputGradient(VisionTransformer model, Tensor images, Tensor labels)
    {
        using var grad = enable_grad();
        var input = images.clone().requires_grad_(true);
        var logits = model.Prompted.Forward(input);
        var loss = nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.None).sum();
        return (logits.detach(), autograd.grad([loss], [input])[0]);
    }

    /// <summary>
    /// The routed attention (straight from the packed qkv projection) against float64 arithmetic: the merged heads and the
    /// gradient of the packed input within float32 rounding of their magnitudes, and the same bits at every thread count
    /// (each image and head is one library call on one thread).
    /// </summary>
    [SystemBlasFact]
    public void TheRoutedAttentionAndItsGradientAreRightAndTheSameAtEveryThreadCount()
    {
        using var scope = NewDisposeScope();
        const int batch = 3, tokens = 70, heads = 3, dim = 16, width = heads * dim;
        var g = new Generator(13);
        var packed = randn(batch, tokens, 3 * width, generator: g);
        var weights = randn(batch, tokens, width, generator: g);
        foreach (var library in GemmLibrary.Available)
            PackedAttentionReference.AssertMatches(input => GemmAttentionFunction.Apply(library, input, heads), packed, weights, heads, library.Name);
    }

    [SystemBlasFact]
    public void AttackStepsOnTheBlasRouteLeaveNoTensorAlive()
    {
        using var model = WideTinyVit(depth: 1, imageSize: 64);
        using var images = rand(4, 3, 64, 64, generator: new Generator(5));
        using var labels = randint(0, 5, [4], generator: new Generator(6));
        foreach (var library in GemmLibrary.Available)
        {
            using var forced = GemmRouting.Force(new GemmRoute(library, "test"));
            ModelStepLeaks.AssertNone(model, images, labels);
        }
    }

    [Fact]
    public void TheSettingNamesARouteAndABadOneIsRefusedInOneLine()
    {
        var calibrated = GemmRoute.LibTorch("calibrated");
        var recalibrated = GemmRoute.LibTorch("calibrated again");
        GemmRoute Choose(bool fresh) => fresh ? recalibrated : calibrated;
        Assert.Same(calibrated, GemmRouting.FromSetting(null, Choose));
        Assert.Same(calibrated, GemmRouting.FromSetting(" Auto ", Choose));
        Assert.Same(recalibrated, GemmRouting.FromSetting("calibrate", Choose));
        Assert.Null(GemmRouting.FromSetting("libtorch", Choose).Library);
        foreach (var library in GemmLibrary.Available)
            Assert.Same(library, GemmRouting.FromSetting(library.Name.ToUpperInvariant(), Choose).Library);
        var error = Assert.Throws<ArgumentException>(() => GemmRouting.FromSetting("mkl", Choose));
        Assert.StartsWith("ADAPT_GEMM=mkl: expected auto, calibrate, libtorch, openblas, blis or avx512", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    /// <summary>
    /// A machine calibrates once: the next process takes the stored route without measuring (so a resumed or sharded
    /// run keeps the numeric path it started with), ADAPT_GEMM=calibrate measures again and replaces it, and a damaged
    /// file, or a stored library that is gone, means a new calibration.
    /// </summary>
    [SystemBlasFact]
    public void TheCalibratedRouteIsStoredForTheNextProcess()
    {
        var libraries = GemmLibrary.Available;
        var folder = Directory.CreateTempSubdirectory("adapt-gemm-store-");
        try
        {
            var store = new GemmRouteStore(Path.Combine(folder.FullName, "cache", "gemm-route.json"));
            var calibrations = 0;
            var next = new GemmRoute(libraries[0], "measured: first");
            GemmRoute Calibrate()
            {
                calibrations++;
                return next;
            }

            var first = GemmRouting.Stored(store, libraries, Calibrate, fresh: false);
            Assert.Same(libraries[0], first.Library);
            Assert.Equal(1, calibrations);
            next = GemmRoute.LibTorch("measured: second");
            var later = GemmRouting.Stored(new GemmRouteStore(store.Path), libraries, Calibrate, fresh: false);
            Assert.Same(libraries[0], later.Library);
            Assert.Contains("measured: first", later.Reason);
            Assert.Equal(1, calibrations);

            var again = GemmRouting.Stored(store, libraries, Calibrate, fresh: true);
            Assert.Null(again.Library);
            Assert.Equal(2, calibrations);
            Assert.Null(GemmRouting.Stored(store, libraries, Calibrate, fresh: false).Library);
            Assert.Equal(2, calibrations);

            if (libraries.Count > 1)
            {
                // Another set of libraries (another machine's key) in the same file: its own entry; the first one stays.
                next = GemmRoute.LibTorch("measured: one library");
                Assert.Null(GemmRouting.Stored(store, libraries.Take(1).ToList(), Calibrate, fresh: false).Library);
                Assert.Equal(3, calibrations);
                Assert.Null(GemmRouting.Stored(store, libraries, Calibrate, fresh: false).Library);
                Assert.Equal(3, calibrations);
            }

            File.WriteAllText(store.Path, "{ not json");
            next = new GemmRoute(libraries[0], "measured: after damage");
            Assert.Same(libraries[0], GemmRouting.Stored(store, libraries, Calibrate, fresh: false).Library);
            Assert.Contains("after damage", File.ReadAllText(store.Path));

            File.WriteAllText(store.Path, File.ReadAllText(store.Path).Replace($"\"Route\": \"{libraries[0].Name}\"", "\"Route\": \"NoSuchBLAS\""));
            var calibrationsBefore = calibrations;
            GemmRouting.Stored(store, libraries, Calibrate, fresh: false);
            Assert.Equal(calibrationsBefore + 1, calibrations);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [SystemBlasFact]
    public void CalibrationTimesEveryLibraryAndKeepsLibTorchUnlessOneIsClearlyFaster()
    {
        var route = GemmRouting.Calibrate();
        Assert.All(GemmLibrary.Available, l => Assert.Contains($"{l.Name} ", route.Reason));
        Assert.Contains("libtorch ", route.Reason);
        Assert.True(route.Library is null || GemmLibrary.Available.Contains(route.Library));
    }

    [Fact]
    public void OpenBlasKernelsAreNamedFromTheCpuFlags()
    {
        var skylakeX = new HashSet<string> { "fma", "avx2", "avx512f", "avx512bw", "avx512dq", "avx512vl" };
        var avx2 = new HashSet<string> { "fma", "avx2", "avx512f" };
        Assert.Equal("SkylakeX", CblasLibrary.OpenBlasCoreType("GenuineIntel", skylakeX));
        Assert.Equal("Haswell", CblasLibrary.OpenBlasCoreType("GenuineIntel", avx2));
        Assert.Null(CblasLibrary.OpenBlasCoreType("GenuineIntel", new HashSet<string> { "sse4_2", "avx" }));
        // AMD with AVX-512 (Zen 4, 5): the SkylakeX kernels, which Debian's OpenBLAS does not pick there by itself.
        Assert.Equal("SkylakeX", CblasLibrary.OpenBlasCoreType("AuthenticAMD", skylakeX));
        // AMD with AVX2 only (Zen 1-3): OpenBLAS's own Zen kernels.
        Assert.Null(CblasLibrary.OpenBlasCoreType("AuthenticAMD", avx2));
        Assert.Null(CblasLibrary.OpenBlasCoreType("HygonGenuine", skylakeX));
    }

    /// <summary>
    /// The OpenBLAS this process loaded runs the kernels named for this CPU (Debian's 0.3.21 picks Prescott's on Intel
    /// models newer than it knows, about 5x slower) unless the user chose other ones.
    /// </summary>
    [SystemBlasFact]
    public void TheLoadedOpenBlasRunsTheKernelsOfThisCpu()
    {
        var openBlas = CblasLibrary.Available.FirstOrDefault(l => l.Name == "OpenBLAS");
        var expected = Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE");
        if (openBlas is null || expected is null)
            return; // no OpenBLAS, or a CPU without AVX-512 left to OpenBLAS's own detection: nothing is named
        Assert.Equal(expected, openBlas.CoreName, ignoreCase: true);
    }

    [Fact]
    public void SmallOrNonFloat32ProductsStayOnLibTorchWhateverTheRoute()
    {
        using var scope = NewDisposeScope();
        var x = randn(3, 64);
        var w = randn(300, 64);
        // Inner dimension 64 < MinDimension: libtorch's linear whatever the route, so the result is libtorch's bit for bit.
        foreach (var library in GemmLibrary.Available)
        {
            using var forced = GemmRouting.Force(new GemmRoute(library, "test"));
            Assert.True(GemmRouting.Linear(x, w, null).equal(nn.functional.linear(x, w)).all().item<bool>());
            var x64 = randn(3, 256, dtype: float64);
            var w64 = randn(300, 256, dtype: float64);
            Assert.True(GemmRouting.Linear(x64, w64, null).equal(nn.functional.linear(x64, w64)).all().item<bool>());
        }
    }

    [Fact]
    public void AttentionIsRoutedOnlyAtRoutedWidthsAndWhileItsProbabilitiesStaySmall()
    {
        using var scope = NewDisposeScope();
        foreach (var library in GemmLibrary.Available)
        {
            using var forced = GemmRouting.Force(new GemmRoute(library, "test"));
            Assert.Same(library, GemmRouting.AttentionLibrary(empty(4, 222, 3 * 384), heads: 6));
            Assert.Null(GemmRouting.AttentionLibrary(empty(4, 222, 3 * 64), heads: 4)); // width 64 < MinDimension
            Assert.Null(GemmRouting.AttentionLibrary(empty(4, 222, 3 * 384, dtype: float64), heads: 6));
            // 4 heads x 4,100² probabilities x 4 bytes = 269 MB per block > MaxAttentionBytes: libtorch's flash attention.
            Assert.Null(GemmRouting.AttentionLibrary(empty(1, 4100, 3 * 128), heads: 4));
        }
        using (GemmRouting.Force(GemmRoute.LibTorch("test")))
            Assert.Null(GemmRouting.AttentionLibrary(empty(4, 222, 3 * 384), heads: 6));
    }

    /// <summary>
    /// The smallest ViT whose products are routed (width <see cref="GemmRouting.MinDimension"/>), patches of 8 or 16,
    /// deep:2 prompts, the prompt-tuning set trainable: 7 tokens at 32x32, 67 at 64x64 (the attention routed too).
    /// </summary>
    private static VisionTransformer WideTinyVit(int depth, int imageSize = 32)
    {
        var config = new VitConfig { Name = "wide-tiny", ImageSize = imageSize, PatchSize = imageSize == 32 ? 16 : 8, InChannels = 3, Width = GemmRouting.MinDimension, Depth = depth, Heads = 4, NumClasses = 5 };
        var model = new VisionTransformer(config, PromptConfig.Parse("deep:2"), seed: 3);
        model.SetTrainable(TrainableSet.Prompts | TrainableSet.Head | TrainableSet.PatchEmbed);
        model.eval();
        return model;
    }

    private static List<Tensor> Outputs(VisionTransformer model, Tensor images, Tensor labels)
    {
        model.zero_grad();
        var input = images.clone().requires_grad_(true);
        var logits = model.Forward(input, usePrompts: true);
        var loss = nn.functional.cross_entropy(logits, labels);
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        var grads = autograd.grad([loss], [input, .. trainable]);
        return [logits.detach(), .. grads];
    }
}
