using AdaptSharp.Runtime;

namespace AdaptSharp.Tests.Runtime;

/// <summary>
/// Needs a system BLAS (OpenBLAS or BLIS). Skipped on a developer machine without one; under CI (CI set) it runs and
/// fails if none is installed, since .ci/run installs libopenblas0-pthread and libblis4-pthread.
/// </summary>
public sealed class SystemBlasFactAttribute : FactAttribute
{
    public SystemBlasFactAttribute() => Skip = SkipReason;

    /// <summary>Why a test that needs a system BLAS is skipped here, or null when it runs.</summary>
    internal static string? SkipReason =>
        CblasLibrary.Available.Count == 0 && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"))
            ? "no system BLAS installed (Debian: libopenblas0-pthread, libblis4-pthread)"
            : null;
}
