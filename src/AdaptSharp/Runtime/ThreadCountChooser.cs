namespace AdaptSharp.Runtime;

/// <summary>
/// The decision rule of <see cref="AdaptiveThreads"/>, apart from clocks and libtorch. Per step shape (a key: batch rows and
/// whether the step has a backward, <see cref="AdaptiveThreads.StepKey"/>) it keeps a
/// running time of the preferred count's steps; every so many steps it runs one step at another count (a probe), and when
/// that step was at least 5% faster, a second one to confirm, and the other count becomes the preferred one only if the
/// two together were: on a shared machine single steps vary by tens of percent, so one lucky step must not switch it.
/// Probes come 4 steps after a switch and back off (4, 16, 64 steps) while the choice holds. Two steps in a row of the
/// preferred count 25% slower than its running time (a load arrived; one such step is often a hiccup) bring the next
/// probe forward, when there is a smaller count to try.
/// <para>Where the machine's counters say how busy the other processes keep the cores (<see cref="OtherProcessesLoad"/>),
/// that decides how often to look the other way: when another process starts to hold a core, a smaller count is tried at
/// the next step; while one holds it, larger counts are tried only every 64 steps (a probe step then costs the most); when
/// the other cores fall idle, a larger count is tried at the next step and then at least every 16 steps, a smaller one only
/// every 64 steps once measured slower (nothing that would change that shows in the counters), and a slow spell of steps no longer brings a probe
/// forward. Step times alone cannot tell a load that came or went from this machine's
/// noise, which moved the choice both ways without a reason.</para>
/// </summary>
internal sealed class ThreadCountChooser
{
    private const int FirstProbeInterval = 4;
    private const int LongestProbeInterval = 64;
    private const double Smoothing = 0.25;
    private const double DriftFactor = 1.25;
    private const double OutlierFactor = 4.0;
    private const double SwitchFactor = 0.95;
    private const int IdleProbeInterval = 16;
    private const double BusyCores = 0.5;
    private const double IdleCores = 0.25;
    private const double LoadDecay = 0.7;
    private const double MinLoadTicks = 5;

    private readonly Dictionary<(long Key, int Threads), double> seconds = [];
    private readonly int[] candidates;
    private int probeInterval = FirstProbeInterval;
    private int sinceProbe;
    private int slowInARow;
    private (int Threads, double Seconds)? unconfirmed;
    private double othersTicks;
    private double elapsedTicks;

    /// <param name="configured">The largest count; the others tried are one fewer and one.</param>
    public ThreadCountChooser(int configured)
    {
        candidates = new[] { configured, configured - 1, 1 }.Where(c => c >= 1).Distinct().ToArray();
        Preferred = candidates[0];
    }

    public IReadOnlyList<int> Candidates => candidates;

    public int Preferred { get; private set; }

    /// <summary>Whether other processes keep at least half a core busy (recent steps, with hysteresis); null where unknown.</summary>
    public bool? OthersBusy { get; private set; }

    /// <summary>The count for the next step of shape <paramref name="key"/>.</summary>
    public int Next(long key)
    {
        if (unconfirmed is { } probe)
            return probe.Threads;
        sinceProbe++;
        var interval = OthersBusy switch
        {
            true when Preferred < candidates[0] => LongestProbeInterval,
            false when Preferred < candidates[0] => Math.Min(probeInterval, IdleProbeInterval),
            // idle at the largest count, every count measured on this shape: a load that arrives shows in the counters
            // first, so fewer threads are tried only every 64 steps (a probe then costs the most)
            false when candidates.All(c => seconds.ContainsKey((key, c))) => LongestProbeInterval,
            _ => probeInterval,
        };
        if (candidates.Length == 1 || sinceProbe < interval || !seconds.ContainsKey((key, Preferred)))
            return Preferred;
        sinceProbe = 0;
        // a count never measured on this shape first, else the one measured longest ago is as good as any
        return candidates.Where(c => c != Preferred).MinBy(c => seconds.ContainsKey((key, c)) ? 1 : 0);
    }

    /// <summary>A finished step: its shape, count and wall time.</summary>
    /// <param name="load">The other processes' busy time and the time passed since the last sample, in one core's clock
    /// ticks (<see cref="OtherProcessesLoad.Sample"/>); null when not sampled.</param>
    public void Record(long key, int threads, double elapsed, (double OthersTicks, double ElapsedTicks)? load = null)
    {
        var turned = load is { } l && LoadTurned(l.OthersTicks, l.ElapsedTicks);
        if (!seconds.TryGetValue((key, Preferred), out var reference))
        {
            unconfirmed = null; // the shape changed under a probe: start over on this one
            if (threads == Preferred)
                seconds[(key, threads)] = elapsed;
            return;
        }
        if (turned && unconfirmed is null)
        {
            // the load came (with a smaller count to try) or went (with a larger one): probe at the next step, against the
            // speed now rather than a running time that still remembers the old load
            sinceProbe = int.MaxValue / 2;
            if (threads == Preferred)
            {
                seconds[(key, Preferred)] = elapsed;
                return;
            }
        }
        if (threads == Preferred)
            RecordPreferred(key, elapsed, reference);
        else
            RecordProbe(key, threads, elapsed, reference);
    }

    /// <summary>Adds a load sample; true when the other processes turned busy with a smaller count to try, or idle with a larger one.</summary>
    private bool LoadTurned(double others, double elapsed)
    {
        othersTicks = LoadDecay * othersTicks + others;
        elapsedTicks = LoadDecay * elapsedTicks + elapsed;
        if (elapsedTicks < MinLoadTicks)
            return false;
        var cores = othersTicks / elapsedTicks;
        var busy = cores >= BusyCores ? true : cores < IdleCores ? false : OthersBusy;
        if (busy is not { } now || now == OthersBusy)
            return false;
        OthersBusy = now;
        return now ? Preferred > candidates[^1] : Preferred < candidates[0];
    }

    private void RecordPreferred(long key, double elapsed, double reference)
    {
        if (elapsed > OutlierFactor * reference)
            return; // not a step's time (a report written between steps)
        slowInARow = elapsed > DriftFactor * reference ? slowInARow + 1 : 0;
        // (not when the counters show the other cores idle: then a slow spell is this machine's noise, which fewer threads
        // do not escape)
        if (slowInARow >= 2 && Preferred > candidates[^1] && OthersBusy != false)
        {
            // a new regime: compare the probe with the speed now, not with a running time that still remembers the old one
            slowInARow = 0;
            sinceProbe = probeInterval;
            seconds[(key, Preferred)] = elapsed;
            return;
        }
        seconds[(key, Preferred)] = reference + Smoothing * (elapsed - reference);
    }

    private void RecordProbe(long key, int threads, double elapsed, double reference)
    {
        seconds[(key, threads)] = elapsed;
        if (unconfirmed is null && elapsed < SwitchFactor * reference)
        {
            unconfirmed = (threads, elapsed);
            return;
        }
        var first = unconfirmed;
        unconfirmed = null;
        if (first is not { } a || a.Threads != threads || (a.Seconds + elapsed) / 2 >= SwitchFactor * reference)
        {
            probeInterval = Math.Min(4 * probeInterval, LongestProbeInterval);
            return;
        }
        Preferred = threads;
        seconds[(key, threads)] = (a.Seconds + elapsed) / 2;
        probeInterval = FirstProbeInterval;
    }
}
