using AdaptSharp.Runtime;

namespace AdaptSharp.Tests.Runtime;

/// <summary>Needs a CPU with AVX-512 (<see cref="Avx512Gemm"/>); skipped elsewhere, where libtorch keeps those products.</summary>
public sealed class Avx512FactAttribute : FactAttribute
{
    public Avx512FactAttribute() => Skip = Avx512Gemm.Supported ? null : "no AVX-512 on this CPU";
}
