using AdaptSharp.Runtime;

namespace AdaptSharp.Tests.Runtime;

/// <summary>The adaptive thread rule on simulated step times (no clock): what it costs idle, how fast it follows a load.</summary>
public sealed class ThreadCountChooserTests
{
    private const long Rows = 128;

    /// <summary>Runs <paramref name="count"/> steps whose time at each thread count is given; returns the counts used.</summary>
    private static List<int> Run(ThreadCountChooser chooser, int count, Func<int, double> secondsAt, double? othersCores = null)
    {
        var used = new List<int>();
        for (var i = 0; i < count; i++)
        {
            var threads = chooser.Next(Rows);
            // the other processes' load as OtherProcessesLoad reports it: busy ticks of theirs per 10 ticks of one core
            chooser.Record(Rows, threads, secondsAt(threads), othersCores is { } c ? (10 * c, 10) : null);
            used.Add(threads);
        }
        return used;
    }

    // idle: two threads 1.66x faster (issue 17's vit-small step); under one busy thread: two threads 1.2x slower than one
    private static double Idle(int threads) => threads == 2 ? 0.6 : 1.0;

    private static double Loaded(int threads) => threads == 2 ? 1.2 : 1.0;

    /// <summary>
    /// Forward-only steps and attack steps (forward and backward) on the same batch, in alternating blocks as the peer
    /// bench's rounds run them: two threads are faster for both (0.45 against 0.48 s, 0.75 against 1.03 s, the vit-small
    /// rows of a 2-thread peer run), and keyed apart (<see cref="AdaptiveThreads.StepKey"/>) the rule keeps two threads.
    /// Keyed by rows alone, a one-thread probe of a forward (0.48 s) compared with a running time that is mostly attack
    /// steps looked faster and the rule switched to one thread.
    /// </summary>
    [Fact]
    public void AForwardAloneAndAnAttackStepOnTheSameBatchAreTimedApart()
    {
        static double Forward(int threads) => threads == 2 ? 0.45 : 0.48;
        static double AttackStep(int threads) => threads == 2 ? 0.75 : 1.03;
        (int Preferred, double Seconds) Interleave(Func<bool, long> key)
        {
            var chooser = new ThreadCountChooser(2);
            var seconds = 0.0;
            for (var i = 0; i < 600; i++)
            {
                // blocks of six forwards and six attack steps, as the peer bench's rounds run them
                var backward = i / 6 % 2 == 1;
                var threads = chooser.Next(key(backward));
                var elapsed = backward ? AttackStep(threads) : Forward(threads);
                chooser.Record(key(backward), threads, elapsed);
                seconds += elapsed;
            }
            return (chooser.Preferred, seconds);
        }
        var apart = Interleave(backward => AdaptiveThreads.StepKey(4, backward));
        Assert.Equal(2, apart.Preferred);
        Assert.True(apart.Seconds <= 1.02 * 300 * (Forward(2) + AttackStep(2)), $"{apart.Seconds:F1} s");
        Assert.NotEqual(AdaptiveThreads.StepKey(4, true), AdaptiveThreads.StepKey(4, false));
        Assert.NotEqual(AdaptiveThreads.StepKey(4, false), AdaptiveThreads.StepKey(5, false));
        // the same sequence under one key per batch size, as before: it is misled
        var together = Interleave(_ => 4);
        Assert.True(together.Seconds > apart.Seconds, $"one key: {together.Seconds:F1} s, keyed apart: {apart.Seconds:F1} s");
    }

    [Fact]
    public void IdleItKeepsTheFasterCountAndProbesRarely()
    {
        var chooser = new ThreadCountChooser(2);
        Assert.Equal([2, 1], chooser.Candidates);
        var used = Run(chooser, 1000, Idle);
        Assert.Equal(2, chooser.Preferred);
        var time = used.Sum(Idle);
        // probes back off to one step in 64: within 2% of always using two threads
        Assert.True(time <= 1.02 * 1000 * Idle(2), $"{time:F1} s against {1000 * Idle(2):F1} s");
        Assert.InRange(used.Skip(200).Count(t => t == 1), 1, 800 / 64 + 1);
    }

    /// <summary>
    /// Idle by the counters, two threads the faster: after a first probe, one thread is tried every 64 steps
    /// from the start (without the counters the probes back off 4, 16, 64: one more in the first 48 steps, where a probe
    /// of the vit-small attack step at one thread cost 2.5% of a block).
    /// </summary>
    [Fact]
    public void IdleByTheCountersAtTheLargestCountItProbesEvery64Steps()
    {
        var chooser = new ThreadCountChooser(2);
        var used = Run(chooser, 200, Idle, othersCores: 0);
        var probes = Enumerable.Range(0, used.Count).Where(i => used[i] == 1).ToList();
        Assert.InRange(probes[0], 1, 8);
        Assert.All(probes.Zip(probes.Skip(1)), p => Assert.InRange(p.Second - p.First, 64, 66));
        Assert.Equal(2, Run(new ThreadCountChooser(2), 48, Idle).Count(t => t == 1));
    }

    [Fact]
    public void ItFollowsALoadThatComesAndGoes()
    {
        var chooser = new ThreadCountChooser(2);
        Run(chooser, 500, Idle);
        // the load arrives: the two-thread steps take twice their running time, so the step after two of them probes one
        // thread, and one more confirms it
        var loaded = Run(chooser, 500, Loaded);
        Assert.Equal(1, chooser.Preferred);
        Assert.Equal([2, 2, 1, 1, 1], loaded.Take(5));
        var time = loaded.Sum(Loaded);
        Assert.True(time <= 1.01 * 500 * Loaded(1), $"{time:F1} s under load against one thread's {500 * Loaded(1):F1} s");
        // the load leaves: one thread's steps do not change, so only a probe finds it, within the longest interval
        var idleAgain = Run(chooser, 200, Idle);
        Assert.Equal(2, chooser.Preferred);
        Assert.True(idleAgain.IndexOf(2) is >= 0 and <= 64, string.Join(",", idleAgain.Take(70)));
    }

    [Fact]
    public void AStepFarSlowerThanUsualIsNotTakenForTheLoad()
    {
        var chooser = new ThreadCountChooser(2);
        Run(chooser, 300, Idle);
        // right after a probe the next one is at least 8 steps away, unless a load brings it forward: a report written
        // between two steps (far slower) and one hiccup (25% slower, once) are not a load
        while (Run(chooser, 1, Idle)[0] != 1) { }
        foreach (var seconds in new[] { 10.0, 1.0 })
        {
            chooser.Record(Rows, 2, seconds);
            Assert.Equal([2, 2, 2], Run(chooser, 3, Idle));
        }
        Assert.Equal(2, chooser.Preferred);
    }

    [Fact]
    public void OneLuckyProbeDoesNotSwitch()
    {
        var chooser = new ThreadCountChooser(2);
        var lucky = true;
        // idle, except that the first one-thread step of each probe is fast by chance: the confirming step is not
        var used = Run(chooser, 300, t => t == 2 ? 0.6 : (lucky = !lucky) ? 1.0 : 0.5);
        Assert.Equal(2, chooser.Preferred);
        Assert.Contains(used.Zip(used.Skip(1)), p => p is (1, 1)); // the confirmation ran
    }

    [Fact]
    public void AShapeChangeDuringAConfirmationStartsOver()
    {
        var chooser = new ThreadCountChooser(2);
        Run(chooser, 300, Idle);
        chooser.Record(Rows, 2, 2.0);
        chooser.Record(Rows, 2, 2.0);
        Assert.Equal(1, chooser.Next(Rows));
        chooser.Record(Rows, 1, 1.0); // faster than the 2.0 seen now: a confirming step is due
        Assert.Equal(1, chooser.Next(Rows));
        chooser.Record(9, 1, 0.1); // but the batch shrank: nothing to compare on this shape yet
        Assert.Equal(2, chooser.Next(9));
        Assert.Equal(2, chooser.Preferred);
    }

    [Fact]
    public void AProbeWaitsUntilTheShapeHasARunningTimeAtThePreferredCount()
    {
        var chooser = new ThreadCountChooser(2);
        Run(chooser, 300, Idle);
        chooser.Record(Rows, 2, 2.0);
        chooser.Record(Rows, 2, 2.0); // twice slower than usual: the next step is a probe
        Assert.Equal(2, chooser.Next(7)); // but a new shape has nothing to compare it with
        chooser.Record(7, 2, 0.05);
        Assert.Equal(1, chooser.Next(7));
        Assert.Equal([4, 3, 1], new ThreadCountChooser(4).Candidates);
        Assert.Equal([1], new ThreadCountChooser(1).Candidates);
        Assert.Equal(1, new ThreadCountChooser(1).Next(Rows));
    }

    // a shape where two threads are only 1.1x faster idle, and a load that costs them 22% (less than the step times read
    // as a load) but leaves one thread as fast as before, now the faster
    private static double IdleSmall(int threads) => threads == 2 ? 0.9 : 1.0;

    private static double LoadedSmall(int threads) => threads == 2 ? 1.1 : 1.0;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void WhenAnotherProcessTakesACoreItTriesFewerThreadsAtOnce(bool counters)
    {
        var chooser = new ThreadCountChooser(2);
        double? idle = counters ? 0 : null, busy = counters ? 1 : null;
        Run(chooser, 300, IdleSmall, idle);
        while (Run(chooser, 1, IdleSmall, idle)[0] != 1) { } // just after a probe: the next one is 64 steps away
        var used = Run(chooser, 10, LoadedSmall, busy);
        if (counters)
        {
            // two steps for the counters to cross half a core, then a probe and its confirmation
            Assert.True(chooser.OthersBusy);
            Assert.Equal([2, 2, 1, 1, 1, 1, 1, 1, 1, 1], used);
        }
        else
            Assert.Equal(Enumerable.Repeat(2, 10), used); // only a probe finds it, up to 64 steps later
    }

    [Fact]
    public void WhileAnotherProcessHoldsACoreMoreThreadsAreTriedOnlyEvery64Steps()
    {
        var chooser = new ThreadCountChooser(2);
        Run(chooser, 300, Idle, othersCores: 0);
        var used = Run(chooser, 1000, Loaded, othersCores: 1);
        Assert.Equal(1, chooser.Preferred);
        var switched = used.IndexOf(1);
        Assert.InRange(switched, 0, 3);
        var afterSwitch = used.Skip(switched + 1).ToList();
        Assert.InRange(afterSwitch.Count(t => t == 2), 1, afterSwitch.Count / 64 + 1);
        Assert.DoesNotContain(2, afterSwitch.Take(60));
        // without the counters the probes start again at 4 steps after the switch
        var blind = new ThreadCountChooser(2);
        Run(blind, 300, Idle);
        var blindUsed = Run(blind, 1000, Loaded);
        Assert.Contains(2, blindUsed.Skip(blindUsed.IndexOf(1) + 1).Take(60));
    }

    [Fact]
    public void WhenTheOtherCoresFallIdleItTriesMoreThreadsAtOnce()
    {
        var chooser = new ThreadCountChooser(2);
        Run(chooser, 300, Idle, othersCores: 0);
        Run(chooser, 500, Loaded, othersCores: 1);
        Assert.Equal(1, chooser.Preferred);
        var used = Run(chooser, 20, Idle, othersCores: 0);
        Assert.False(chooser.OthersBusy);
        Assert.Equal(2, chooser.Preferred);
        Assert.InRange(used.IndexOf(2), 0, 6);
        // idle, a shape where one thread is the faster: more threads are tried again at least every 16 steps, no more
        var small = new ThreadCountChooser(2);
        var smallUsed = Run(small, 1000, t => t == 2 ? 1.3 : 1.0, othersCores: 0);
        Assert.Equal(1, small.Preferred);
        Assert.InRange(smallUsed.Skip(100).Count(t => t == 2), 900 / 16 - 1, 900 / 16 + 2);
    }

    [Fact]
    public void WithTheOtherCoresIdleASlowSpellIsNoiseNotALoad()
    {
        var chooser = new ThreadCountChooser(2);
        Run(chooser, 300, Idle, othersCores: 0);
        while (Run(chooser, 1, Idle, othersCores: 0)[0] != 1) { }
        // two steps twice as slow as usual: without the counters that brings a probe forward (ItFollowsALoadThatComesAndGoes)
        chooser.Record(Rows, 2, 1.2, (0, 10));
        chooser.Record(Rows, 2, 1.2, (0, 10));
        Assert.Equal([2, 2, 2, 2], Run(chooser, 4, Idle, othersCores: 0));
        Assert.Equal(2, chooser.Preferred);
    }
}
