namespace AdaptSharp.Tests.Runtime;

/// <summary>The theory form of <see cref="SystemBlasFactAttribute"/>: skipped without a system BLAS unless under CI.</summary>
public sealed class SystemBlasTheoryAttribute : TheoryAttribute
{
    public SystemBlasTheoryAttribute() => Skip = SystemBlasFactAttribute.SkipReason;
}
