using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Runtime;

/// <summary>Device selection and one-time libtorch setup.</summary>
public static class TorchRuntime
{
    /// <summary>
    /// Parses "cpu", "cuda", "cuda:N" or "auto"/null (CUDA when available, else CPU).
    /// </summary>
    public static Device ResolveDevice(string? spec)
    {
        var s = (spec ?? "auto").Trim().ToLowerInvariant();
        if (s is "" or "auto")
            return cuda.is_available() ? new Device(DeviceType.CUDA, 0) : CPU;
        if (s == "cpu")
            return CPU;
        if (s == "cuda" || s.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!cuda.is_available())
                throw new ArgumentException($"device '{spec}' requested but CUDA is not available (build with -p:TorchBackend=cuda on a machine with a GPU)");
            int index = 0;
            if (s.Length > 4 && !int.TryParse(s[5..], out index))
                throw new ArgumentException($"bad device '{spec}': expected cpu, cuda or cuda:N");
            if (index < 0 || index >= cuda.device_count())
                throw new ArgumentException($"device '{spec}': only {cuda.device_count()} CUDA device(s) present");
            return new Device(DeviceType.CUDA, index);
        }
        throw new ArgumentException($"bad device '{spec}': expected cpu, cuda or cuda:N");
    }

    /// <summary>
    /// Uses one intra-op thread per core unless told otherwise (argument, or the ADAPT_THREADS variable: on a
    /// machine shared with other jobs, one thread can be several times faster than two, see docs/performance.md),
    /// and checks an explicit ADAPT_GEMM (<see cref="GemmRouting"/>). Attack steps then run at the count between one and
    /// that which measures fastest (<see cref="AdaptiveThreads"/>; ADAPT_THREAD_POLICY=fixed turns that off).
    /// </summary>
    public static void ConfigureThreads(int? threads = null)
    {
        var fromEnvironment = int.TryParse(Environment.GetEnvironmentVariable("ADAPT_THREADS"), out var t) && t > 0 ? t : (int?)null;
        var n = threads ?? fromEnvironment ?? Environment.ProcessorCount;
        if (n > 0 && torch.get_num_threads() != n)
            torch.set_num_threads(n);
        AdaptiveThreads.Configure(n, AdaptiveThreads.ParsePolicy(Environment.GetEnvironmentVariable(AdaptiveThreads.Variable)));
        // An explicit GEMM library is checked now (one-line error at start), not at the first large product.
        if (Environment.GetEnvironmentVariable(GemmRouting.Variable)?.Trim().ToLowerInvariant() is { Length: > 0 } gemm && gemm != "auto")
            _ = GemmRouting.Route;
    }
}
