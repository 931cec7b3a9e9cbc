using AdaptSharp.Runtime;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Runtime;

/// <summary>
/// For tests that run work at several thread counts: on dispose, torch's thread count as it was at creation, and with
/// <paramref name="adaptive"/> the adaptive count fixed at it (only tests that configured it themselves: it is
/// process-wide state other tests may be using).
/// </summary>
internal sealed class ThreadCountRestore(bool adaptive = false) : IDisposable
{
    private readonly int before = get_num_threads();

    public void Dispose()
    {
        if (adaptive)
            AdaptiveThreads.Configure(before, ThreadPolicy.Fixed);
        set_num_threads(before);
    }
}
