using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Runtime;

/// <summary>
/// Chooses libtorch's intra-op thread count for each attack step from measured step times (issue 17). libtorch splits
/// every product statically across its threads, so when another job shares a core the thread on that core holds the
/// others back and two threads run slower than one; no wait policy changes that. Between one thread and the configured
/// count, the count whose steps measure fastest is used, with probes of the others so that the choice follows the
/// machine's load. libtorch has no work-sharing scheduler to hand this to, and a fixed split of each product into
/// many blocks (tried: docs/performance.md) costs 10-20% of the idle speed.
/// <para>
/// A step is a forward through a <see cref="Models.ModelView"/> and whatever follows it until the next one (the input
/// gradient, the attack's update). Only such work may run at a chosen count, because its result does not depend on the
/// count: logits and input gradients are split by rows (GEMMs over their M or N, row-wise norms, softmax, layer norm),
/// never inside one sum, and the routed GEMMs' blocks of rows are cut for the configured count at every count
/// (<see cref="PlannedThreads"/>). That is checked bit for bit before the first chosen count (logits and input gradients of the
/// first batch at every candidate count); where it fails the count stays fixed for the process. Work that sums over
/// the batch — a training step's parameter gradients — calls <see cref="Settle"/> first and runs at the configured
/// count, so training and evaluation give the bits of a fixed-count run. The rule itself: <see cref="ThreadCountChooser"/>.
/// </para>
/// Acts only on the thread that configured it (libgomp's thread count is per calling thread).
/// </summary>
public static class AdaptiveThreads
{
    /// <summary>Environment variable: adaptive (default), fixed or alternate.</summary>
    public const string Variable = "ADAPT_THREAD_POLICY";

    private static readonly Dictionary<int, long> steps = [];
    private static ThreadCountChooser chooser = new(1);
    private static int configured = 1;
    private static int owner = -1;
    private static int depth;
    private static bool? invariant;
    private static long alternation;
    private static bool open;
    private static long openedAt;
    private static long openKey;
    private static int openThreads;
    private static OtherProcessesLoad load = new();
    private static long loadSampledAt;

    public static ThreadPolicy Policy { get; private set; } = ThreadPolicy.Fixed;

    /// <summary>"adaptive threads: 1,204 steps at 2, 37 steps at 1", or null when no count was chosen.</summary>
    public static string? Summary =>
        Policy == ThreadPolicy.Fixed || configured < 2 || steps.Count == 0
            ? null
            : $"{Policy.ToString().ToLowerInvariant()} threads: " + string.Join(", ",
                steps.OrderByDescending(s => s.Value).Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Value:N0} steps at {s.Key}")))
              + (invariant == false ? " (results depend on the count here: fixed)" : "");

    public static ThreadPolicy ParsePolicy(string? text) => (text ?? "").Trim().ToLowerInvariant() switch
    {
        "" or "adaptive" => ThreadPolicy.Adaptive,
        "fixed" => ThreadPolicy.Fixed,
        "alternate" => ThreadPolicy.Alternate,
        _ => throw new ArgumentException($"bad {Variable} '{text}': expected adaptive, fixed or alternate"),
    };

    /// <summary>Starts choosing counts up to <paramref name="threads"/> on the calling thread (forgets earlier measurements).</summary>
    public static void Configure(int threads, ThreadPolicy policy)
    {
        Policy = policy;
        configured = Math.Max(1, threads);
        chooser = new ThreadCountChooser(configured);
        load = new OtherProcessesLoad();
        loadSampledAt = 0;
        owner = Environment.CurrentManagedThreadId;
        alternation = 0;
        invariant = null;
        open = false;
        depth = 0;
        steps.Clear();
    }

    /// <summary>
    /// Back to the configured count before work whose result depends on it (parameter gradients); the step in
    /// progress ends here.
    /// </summary>
    public static void Settle()
    {
        if (!Active)
            return;
        Close(Stopwatch.GetTimestamp());
        SetThreads(configured);
    }

    /// <summary>
    /// The thread count work that splits itself by count (<see cref="GemmLinearFunction"/>'s blocks of rows) plans for:
    /// the configured count while this class chooses counts on the calling thread (the steps it runs at fewer threads
    /// keep the configured count's blocks, and so its bits), else torch's current count.
    /// </summary>
    internal static int PlannedThreads => Active ? configured : get_num_threads();

    private static bool Active =>
        Policy != ThreadPolicy.Fixed && configured > 1 && invariant != false && Environment.CurrentManagedThreadId == owner;

    /// <summary>Called by a model view before its forward; nested views (an ensemble's members) count as one step.</summary>
    internal static StepScope BeginStep(Tensor images, Func<Tensor, Tensor> forward)
    {
        if (!Active || depth > 0 || images.device_type != DeviceType.CPU || images.shape.Length == 0)
            return default;
        depth++;
        var now = Stopwatch.GetTimestamp();
        Close(now);
        invariant ??= SameAtEveryCount(images, forward);
        var key = StepKey(images.shape[0], is_grad_enabled());
        var threads = invariant == true ? Choose(key) : configured;
        SetThreads(threads);
        steps[threads] = steps.GetValueOrDefault(threads) + 1;
        open = true;
        openKey = key;
        openThreads = threads;
        openedAt = Stopwatch.GetTimestamp();
        return new StepScope(true);
    }

    /// <summary>
    /// The chooser's key of a step: its batch rows and whether it records a graph for a backward. A forward alone and a
    /// forward with its backward on the same batch differ by 1.5-3x; under one running time a probe of the one was
    /// compared with the other's (a 2-thread peer run read the vit-small forward at one thread's speed, 0.85x PyTorch).
    /// </summary>
    internal static long StepKey(long rows, bool recordsGraph) => (2 * rows) + (recordsGraph ? 1 : 0);

    private static int Choose(long key) =>
        Policy == ThreadPolicy.Alternate ? chooser.Candidates[(int)(alternation++ % chooser.Candidates.Count)] : chooser.Next(key);

    private static void Close(long now)
    {
        if (!open)
            return;
        open = false;
        if (Policy == ThreadPolicy.Adaptive)
            chooser.Record(openKey, openThreads, (now - openedAt) / (double)Stopwatch.Frequency, SampleLoad(now));
    }

    /// <summary>The other processes' load since the last sample, read at most every 50 ms (the counters tick every 10 ms).</summary>
    private static (double OthersTicks, double ElapsedTicks)? SampleLoad(long now)
    {
        if (loadSampledAt != 0 && now - loadSampledAt < Stopwatch.Frequency / 20)
            return null;
        loadSampledAt = now;
        return load.Sample();
    }

    /// <summary>Logits and input gradients of the batch at every candidate count, compared bit for bit.</summary>
    private static bool SameAtEveryCount(Tensor images, Func<Tensor, Tensor> forward)
    {
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        var rng = get_rng_state();
        Tensor? firstLogits = null, firstGradient = null;
        var same = true;
        foreach (var threads in chooser.Candidates)
        {
            SetThreads(threads);
            set_rng_state(rng);
            var input = images.detach().clone().requires_grad_(true);
            var logits = forward(input);
            var gradient = autograd.grad([logits.sum()], [input])[0];
            if (firstLogits is null)
            {
                (firstLogits, firstGradient) = (logits.detach(), gradient);
                continue;
            }
            same &= logits.detach().eq(firstLogits).all().item<bool>() && gradient.eq(firstGradient!).all().item<bool>();
        }
        set_rng_state(rng);
        SetThreads(configured);
        return same;
    }

    private static void SetThreads(int threads)
    {
        if (get_num_threads() != threads)
            set_num_threads(threads);
    }

    /// <summary>Ends a view's forward (see <see cref="BeginStep"/>).</summary>
    internal readonly struct StepScope(bool counted) : IDisposable
    {
        public void Dispose()
        {
            if (counted)
                depth--;
        }
    }
}
