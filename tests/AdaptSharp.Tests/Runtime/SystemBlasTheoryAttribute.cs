using AdaptSharp.Runtime;

namespace AdaptSharp.Tests.Runtime;

/// <summary>The theory form of <see cref="SystemBlasFactAttribute"/>: skipped without a system BLAS unless under CI.</summary>
public sealed class SystemBlasTheoryAttribute : TheoryAttribute
{
    public SystemBlasTheoryAttribute()
    {
        if (CblasLibrary.Available.Count == 0 && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
            Skip = "no system BLAS installed (Debian: libopenblas0-pthread, libblis4-pthread)";
    }
}
