namespace AdaptSharp.Runtime;

/// <summary>
/// The decision rule of <see cref="AdaptiveThreads"/>, apart from clocks and libtorch. Per batch shape (rows) it keeps a
/// running time of the preferred count's steps; every so many steps it runs one step at another count (a probe), and when
/// that step was at least 5% faster, a second one to confirm, and the other count becomes the preferred one only if the
/// two together were: on a shared machine single steps vary by tens of percent, so one lucky step must not switch it.
/// Probes come 4 steps after a switch and back off (4, 16, 64 steps) while the choice holds. Two steps in a row of the
/// preferred count 25% slower than its running time (a load arrived; one such step is often a hiccup) bring the next
/// probe forward, when there is a smaller count to try.
/// </summary>
internal sealed class ThreadCountChooser
{
    private const int FirstProbeInterval = 4;
    private const int LongestProbeInterval = 64;
    private const double Smoothing = 0.25;
    private const double DriftFactor = 1.25;
    private const double OutlierFactor = 4.0;
    private const double SwitchFactor = 0.95;

    private readonly Dictionary<(long Rows, int Threads), double> seconds = [];
    private readonly int[] candidates;
    private int probeInterval = FirstProbeInterval;
    private int sinceProbe;
    private int slowInARow;
    private (int Threads, double Seconds)? unconfirmed;

    /// <param name="configured">The largest count; the others tried are one fewer and one.</param>
    public ThreadCountChooser(int configured)
    {
        candidates = new[] { configured, configured - 1, 1 }.Where(c => c >= 1).Distinct().ToArray();
        Preferred = candidates[0];
    }

    public IReadOnlyList<int> Candidates => candidates;

    public int Preferred { get; private set; }

    /// <summary>The count for the next step on a batch of <paramref name="rows"/>.</summary>
    public int Next(long rows)
    {
        if (unconfirmed is { } probe)
            return probe.Threads;
        sinceProbe++;
        if (candidates.Length == 1 || sinceProbe < probeInterval || !seconds.ContainsKey((rows, Preferred)))
            return Preferred;
        sinceProbe = 0;
        // a count never measured on this shape first, else the one measured longest ago is as good as any
        return candidates.Where(c => c != Preferred).MinBy(c => seconds.ContainsKey((rows, c)) ? 1 : 0);
    }

    /// <summary>A finished step: its shape, count and wall time.</summary>
    public void Record(long rows, int threads, double elapsed)
    {
        if (!seconds.TryGetValue((rows, Preferred), out var reference))
        {
            unconfirmed = null; // the shape changed under a probe: start over on this one
            if (threads == Preferred)
                seconds[(rows, threads)] = elapsed;
            return;
        }
        if (threads == Preferred)
            RecordPreferred(rows, elapsed, reference);
        else
            RecordProbe(rows, threads, elapsed, reference);
    }

    private void RecordPreferred(long rows, double elapsed, double reference)
    {
        if (elapsed > OutlierFactor * reference)
            return; // not a step's time (a report written between steps)
        slowInARow = elapsed > DriftFactor * reference ? slowInARow + 1 : 0;
        if (slowInARow >= 2 && Preferred > candidates[^1])
        {
            // a new regime: compare the probe with the speed now, not with a running time that still remembers the old one
            slowInARow = 0;
            sinceProbe = probeInterval;
            seconds[(rows, Preferred)] = elapsed;
            return;
        }
        seconds[(rows, Preferred)] = reference + Smoothing * (elapsed - reference);
    }

    private void RecordProbe(long rows, int threads, double elapsed, double reference)
    {
        seconds[(rows, threads)] = elapsed;
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
        seconds[(rows, threads)] = (a.Seconds + elapsed) / 2;
        probeInterval = FirstProbeInterval;
    }
}
