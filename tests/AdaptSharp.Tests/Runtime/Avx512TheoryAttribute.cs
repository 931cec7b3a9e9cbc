using AdaptSharp.Runtime;

namespace AdaptSharp.Tests.Runtime;

/// <summary>As <see cref="Avx512FactAttribute"/>, for a theory.</summary>
public sealed class Avx512TheoryAttribute : TheoryAttribute
{
    public Avx512TheoryAttribute() => Skip = Avx512Gemm.Supported ? null : "no AVX-512 on this CPU";
}
