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
/// <para>
/// An attack step taken through <see cref="Models.ModelView.LossAndInputGradient"/> (or a query without a graph through
/// <see cref="Models.ModelView.Forward"/>) on a view that gives its forward as a body and a head (the ViT's) runs at a
/// chosen count above one in as many lanes (<see cref="BatchLanes"/>): slices of the batch through the body side by side,
/// each at one thread, meeting twice per step instead of at every operator (vit-small under one busy process: two lanes
/// 1.03-1.15x one thread, where two threads splitting every operator were 0.87-0.95x; docs/performance.md). Whether the
/// lanes give the whole batch's bits is checked once per view kind and model, with and without a backward; where they do
/// not, that view's steps split operators as before.
/// </para>
/// Acts only on the thread that configured it (libgomp's thread count is per calling thread).
/// </summary>
public static class AdaptiveThreads
{
    /// <summary>Environment variable: adaptive (default), fixed or alternate.</summary>
    public const string Variable = "ADAPT_THREAD_POLICY";

    private static readonly Dictionary<int, long> steps = [];
    private static long lanedSteps;
    private static System.Runtime.CompilerServices.ConditionalWeakTable<object, LanesChecked> lanesChecked = [];
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
              + (lanedSteps > 0 ? string.Create(CultureInfo.InvariantCulture, $" ({lanedSteps:N0} in lanes)") : "")
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
        lanedSteps = 0;
        lanesChecked = [];
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

    /// <summary>
    /// Called by a model view before its forward; nested views (an ensemble's members) count as one step. A view that can
    /// take the step in lanes passes its <paramref name="lanes"/> and <paramref name="inLanes"/> (the step in that many
    /// lanes, 1 = the whole batch on this thread; what it returns is compared): at a chosen count above one the step then
    /// runs in as many lanes (<see cref="BatchLanes"/>), once the lanes gave the whole batch's bits on a first batch of
    /// this view kind and model, with (<paramref name="backward"/>) or without a backward (else never for it).
    /// </summary>
    internal static StepScope BeginStep(Tensor images, Func<Tensor, Tensor> forward, Models.LanedForward? lanes = null,
        bool backward = false, Func<int, Tensor[]>? inLanes = null)
    {
        if (!Active || depth > 0 || images.device_type != DeviceType.CPU || images.shape.Length == 0)
            return default;
        depth++;
        var now = Stopwatch.GetTimestamp();
        Close(now);
        invariant ??= SameAtEveryCount(images, forward);
        var rows = images.shape[0];
        var laned = invariant == true && inLanes is not null && lanes is not null && rows > 1 && LanesGiveTheSameBits(lanes, backward, rows, inLanes);
        var key = StepKey(rows, backward || is_grad_enabled(), laned);
        var threads = invariant == true ? Choose(key) : configured;
        SetThreads(threads);
        steps[threads] = steps.GetValueOrDefault(threads) + 1;
        var count = laned ? (int)Math.Min(threads, rows) : 1;
        if (count > 1)
            lanedSteps++;
        open = true;
        openKey = key;
        openThreads = threads;
        openedAt = Stopwatch.GetTimestamp();
        return new StepScope(true, count);
    }

    /// <summary>
    /// The chooser's key of a step: its batch rows and whether it records a graph for a backward. A forward alone and a
    /// forward with its backward on the same batch differ by 1.5-3x; under one running time a probe of the one was
    /// compared with the other's (a 2-thread peer run read the vit-small forward at one thread's speed, 0.85x PyTorch).
    /// </summary>
    internal static long StepKey(long rows, bool recordsGraph, bool laned = false) => (4 * rows) + (recordsGraph ? 1 : 0) + (laned ? 2 : 0);

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

    /// <summary>
    /// Logits and input gradients of the batch at every candidate count, compared bit for bit. The gradient is seeded
    /// with fixed random weights per logit, as a loss's would be: a uniform seed (the logits' sum) makes every row of the
    /// head's input gradient the same sum of its weights, and hid that MKL's head gradient changed with the count.
    /// </summary>
    private static bool SameAtEveryCount(Tensor images, Func<Tensor, Tensor> forward)
    {
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        var rng = get_rng_state();
        using var generator = new Generator(17);
        Tensor? firstLogits = null, firstGradient = null, weights = null;
        var same = true;
        foreach (var threads in chooser.Candidates)
        {
            SetThreads(threads);
            set_rng_state(rng);
            var input = images.detach().clone().requires_grad_(true);
            var logits = forward(input);
            weights ??= rand(logits.shape, dtype: logits.dtype, generator: generator).to(logits.device);
            var gradient = autograd.grad([(logits * weights).sum()], [input])[0];
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

    /// <summary>
    /// The step in every candidate count of lanes against the whole batch at the configured count, bit for bit; once per
    /// view kind and model, apart for steps with and without a backward.
    /// </summary>
    private static bool LanesGiveTheSameBits(Models.LanedForward lanes, bool backward, long rows, Func<int, Tensor[]> inLanes)
    {
        var known = lanesChecked.GetOrCreateValue(lanes);
        if ((backward ? known.Backward : known.Forward) is { } result)
            return result;
        using var scope = NewDisposeScope();
        var rng = get_rng_state();
        SetThreads(configured);
        var whole = inLanes(1);
        var same = true;
        foreach (var count in chooser.Candidates.Where(c => c > 1).Select(c => (int)Math.Min(c, rows)).Distinct())
        {
            set_rng_state(rng);
            var split = inLanes(count);
            same &= split.Length == whole.Length && split.Zip(whole).All(p => Same(p.First, p.Second));
        }
        set_rng_state(rng);
        if (backward)
            known.Backward = same;
        else
            known.Forward = same;
        return same;
    }

    /// <summary>What <see cref="LanesGiveTheSameBits"/> found for one view kind and model.</summary>
    private sealed class LanesChecked
    {
        public bool? Backward { get; set; }

        public bool? Forward { get; set; }
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static void SetThreads(int threads)
    {
        if (get_num_threads() != threads)
            set_num_threads(threads);
    }

    /// <summary>Ends a view's forward (see <see cref="BeginStep"/>).</summary>
    internal readonly struct StepScope(bool counted, int lanes = 1) : IDisposable
    {
        /// <summary>How many lanes the step runs in (1: the whole batch on the calling thread).</summary>
        public int Lanes => Math.Max(1, lanes);

        public void Dispose()
        {
            if (counted)
                depth--;
        }
    }
}
