using AdaptSharp.Runtime;

namespace AdaptSharp.Tests.Runtime;

/// <summary>Needs a CPU with AVX-512 (<see cref="NarrowGemm"/>); skipped elsewhere, where libtorch keeps those products.</summary>
public sealed class Avx512FactAttribute : FactAttribute
{
    public Avx512FactAttribute() => Skip = NarrowGemm.Supported ? null : "no AVX-512 on this CPU";
}
