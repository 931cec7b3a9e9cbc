using System.Runtime.ExceptionServices;
using static TorchSharp.torch;

namespace AdaptSharp.Runtime;

/// <summary>
/// Runs a step's parts side by side, one per lane, each at one torch thread: lane 0 on the calling thread, the others on
/// long-lived threads of their own (issue 17). A lane is a whole slice of the batch taken through the model and back, so
/// two lanes meet once per pass instead of at every operator, as libtorch's and the kernels' fork-join splits do: a lane
/// that shares its core with another process holds the other back once, not at every product. The threads are this
/// class's own rather than the .NET pool's because libtorch keeps its thread count per thread (set once here) and the
/// kernels' per-thread scratch stays warm on them; no served package runs work on a fixed set of threads with state.
/// </summary>
internal static class BatchLanes
{
    private static readonly object RunGate = new();
    private static readonly List<Lane> lanes = [];

    /// <summary>
    /// Calls <paramref name="part"/>(0 .. <paramref name="count"/> - 1), each on its own lane, and returns when all have
    /// ended; the first exception thrown by a part is rethrown here once all have ended. Callers take turns (the lane
    /// threads are shared); a part must not call it again.
    /// </summary>
    public static void Run(int count, Action<int> part)
    {
        if (count < 1)
            throw new ArgumentOutOfRangeException(nameof(count));
        lock (RunGate)
            RunLocked(count, part);
    }

    private static void RunLocked(int count, Action<int> part)
    {
        var others = Lanes(count - 1);
        var before = get_num_threads();
        if (before != 1)
            set_num_threads(1);
        try
        {
            for (var i = 0; i < others.Count; i++)
                others[i].Start(part, i + 1);
            Exception? first = null;
            try
            {
                part(0);
            }
            catch (Exception e)
            {
                first = e;
            }
            foreach (var lane in others)
            {
                var error = lane.Wait();
                first ??= error;
            }
            if (first is not null)
                ExceptionDispatchInfo.Capture(first).Throw();
        }
        finally
        {
            if (before != 1)
                set_num_threads(before);
        }
    }

    private static List<Lane> Lanes(int count)
    {
        while (lanes.Count < count)
            lanes.Add(new Lane(lanes.Count + 1));
        return lanes.GetRange(0, count);
    }

    private sealed class Lane
    {
        private readonly SemaphoreSlim start = new(0);
        private readonly ManualResetEventSlim done = new(true);
        private Action<int>? part;
        private int index;
        private Exception? error;

        public Lane(int number)
        {
            new Thread(Loop) { IsBackground = true, Name = $"adapt lane {number}" }.Start();
        }

        public void Start(Action<int> work, int lane)
        {
            (part, index, error) = (work, lane, null);
            done.Reset();
            start.Release();
        }

        /// <summary>Waits for the part started last; its exception, if it threw one.</summary>
        public Exception? Wait()
        {
            done.Wait();
            return error;
        }

        private void Loop()
        {
            set_num_threads(1);
            while (true)
            {
                start.Wait();
                try
                {
                    part!(index);
                }
                catch (Exception e)
                {
                    error = e;
                }
                finally
                {
                    part = null;
                    done.Set();
                }
            }
        }
    }
}
