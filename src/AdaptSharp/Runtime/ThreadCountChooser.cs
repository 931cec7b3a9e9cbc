namespace AdaptSharp.Runtime;

/// <summary>
/// The decision rule of <see cref="AdaptiveThreads"/>, apart from clocks and libtorch: per batch shape (rows), a running
/// time of the preferred count's steps; every so many steps one step at another count, which becomes the preferred one
/// when it was at least 5% faster (less would be noise). Probes come 4 steps after a change and back off to every 64 while
/// the choice holds; two steps in a row of the preferred count 25% slower than its running time (the machine's load
/// changed, where one such step is often a hiccup) bring the next probe forward.
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
            if (threads == Preferred)
                seconds[(rows, threads)] = elapsed;
            return;
        }
        if (threads == Preferred)
        {
            if (elapsed > OutlierFactor * reference)
                return; // not a step's time (a report written between steps)
            slowInARow = elapsed > DriftFactor * reference ? slowInARow + 1 : 0;
            if (slowInARow >= 2)
            {
                // a new regime: compare the probe with the speed now, not with a running time that still remembers the old one
                sinceProbe = probeInterval;
                seconds[(rows, threads)] = elapsed;
                return;
            }
            seconds[(rows, threads)] = reference + Smoothing * (elapsed - reference);
            return;
        }
        seconds[(rows, threads)] = elapsed;
        if (elapsed < SwitchFactor * reference)
        {
            Preferred = threads;
            probeInterval = FirstProbeInterval;
        }
        else
        {
            probeInterval = Math.Min(2 * probeInterval, LongestProbeInterval);
        }
    }
}
