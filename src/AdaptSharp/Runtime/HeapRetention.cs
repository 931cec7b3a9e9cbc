using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AdaptSharp.Runtime;

/// <summary>
/// Keeps freed tensor memory in the process's heap for the next step (glibc malloc: blocks up to 32 MiB from the heap,
/// and the heap never handed back to the system) unless the user tuned malloc. A ViT step frees and allocates the same
/// few hundred MB of activations and gradients every time; glibc's defaults return much of it to the system between
/// steps (freed blocks above its sliding mmap threshold, and any free heap top above twice that), so every step faulted
/// the same pages in again and zeroed them. On the vit-small attack step with its GEMMs on OpenBLAS that was 11% of the
/// samples in page faults and the step at 0.95-1.4 s against 0.69-0.78 s with this policy (AMD EPYC, one thread;
/// docs/performance-intro.md). The cost is that resident memory stays at the largest step's high-water mark.
/// glibc has no setting for this other than mallopt (or variables read before the process starts), hence libc's
/// mallopt through P/Invoke; other C libraries (musl) are left alone.
/// </summary>
internal static class HeapRetention
{
    private const int MmapThresholdParameter = -3; // M_MMAP_THRESHOLD
    private const int TrimThresholdParameter = -1; // M_TRIM_THRESHOLD

    /// <summary>glibc's largest mmap threshold on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX); larger values are refused.</summary>
    public const int MmapThreshold = 32 << 20;

    /// <summary>The environment variables through which a user tunes glibc malloc; any of them set means the user chose.</summary>
    public static readonly string[] UserSettings = ["MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES"];

    /// <summary>Whether the policy is in effect in this process.</summary>
    public static bool Applied { get; private set; }

    /// <summary>glibc's default for both thresholds (before its mmap threshold starts sliding).</summary>
    internal const int GlibcDefaultThreshold = 128 << 10;

    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255", Justification = "Allocator settings must be in place before the first tensor; idempotent.")]
    internal static void Apply()
    {
        if (!Applied && OperatingSystem.IsLinux() && !UserChose(Environment.GetEnvironmentVariable))
            Applied = Use(retain: true);
    }

    /// <summary>
    /// Sets glibc's two thresholds: this policy's (<paramref name="retain"/>) or glibc's starting defaults. False where
    /// libc has no mallopt or refuses a value. The tests compare the two in one process.
    /// </summary>
    internal static unsafe bool Use(bool retain)
    {
        if (!NativeLibrary.TryLoad("libc.so.6", out var libc) || !NativeLibrary.TryGetExport(libc, "mallopt", out var address))
            return false;
        var mallopt = (delegate* unmanaged<int, int, int>)address;
        return mallopt(MmapThresholdParameter, retain ? MmapThreshold : GlibcDefaultThreshold) == 1
            && mallopt(TrimThresholdParameter, retain ? int.MaxValue : GlibcDefaultThreshold) == 1;
    }

    /// <summary>Whether the user tuned malloc through its environment (GLIBC_TUNABLES only counts when it names malloc).</summary>
    internal static bool UserChose(Func<string, string?> environment) =>
        UserSettings.Any(name => environment(name) is { } value && (name != "GLIBC_TUNABLES" || value.Contains("glibc.malloc.", StringComparison.Ordinal)));
}
