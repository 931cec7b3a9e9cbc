using System.Runtime.InteropServices;

namespace AdaptSharp.Runtime;

/// <summary>
/// The fp32 GEMM (cblas_sgemm) of a system BLAS loaded at run time when it is installed: OpenBLAS
/// (Debian libopenblas0-pthread) or BLIS (libblis4-pthread). On some CPUs (AMD Zen) these are much faster than the
/// MKL inside libtorch. Hand-written P/Invoke: no served package binds these libraries for .NET on Linux, and they
/// must stay optional (loaded by soname, absent is fine).
/// </summary>
internal sealed unsafe class CblasLibrary : GemmLibrary
{
    private const int RowMajor = 101;
    private const int NoTrans = 111;
    private const int Trans = 112;

    private static readonly Lazy<IReadOnlyList<CblasLibrary>> Installed = new(Load);

    private readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> sgemm;

    private CblasLibrary(string name, IntPtr handle)
    {
        Name = name;
        sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)
            NativeLibrary.GetExport(handle, "cblas_sgemm");
        // Every call runs on the calling thread: the threads are AdaptSharp's, one block of rows each (GemmLinearFunction).
        if (NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out var openblas))
            ((delegate* unmanaged<int, void>)openblas)(1);
        if (NativeLibrary.TryGetExport(handle, "bli_thread_set_num_threads", out var blis))
            ((delegate* unmanaged<long, void>)blis)(1);
        if (NativeLibrary.TryGetExport(handle, "openblas_get_corename", out var corename))
            CoreName = Marshal.PtrToStringAnsi(((delegate* unmanaged<IntPtr>)corename)());
    }

    /// <summary>"OpenBLAS" or "BLIS".</summary>
    public override string Name { get; }

    public override string Description => CoreName is { } core ? $"{Name} ({core})" : Name;

    /// <summary>The libraries this machine has (by soname) that export cblas_sgemm; loaded once per process.</summary>
    public static new IReadOnlyList<CblasLibrary> Available => Installed.Value;

    /// <summary>
    /// Names OpenBLAS's kernels for this CPU (<see cref="OpenBlasCoreType()"/>) in the environment, unless the user did:
    /// before this process loads OpenBLAS, and for the child processes it starts (the bench's PyTorch peer).
    /// </summary>
    public static void NameOpenBlasKernels()
    {
        if (OpenBlasCoreType() is { } core)
            NativeEnvironment.SetIfUnset("OPENBLAS_CORETYPE", core);
    }

    private static IReadOnlyList<CblasLibrary> Load()
    {
        NameOpenBlasKernels();
        var found = new List<CblasLibrary>();
        foreach (var (name, file) in new[] { ("OpenBLAS", "libopenblas.so.0"), ("BLIS", "libblis.so.4") })
        {
            if (NativeLibrary.TryLoad(file, out var handle) && NativeLibrary.TryGetExport(handle, "cblas_sgemm", out _))
                found.Add(new CblasLibrary(name, handle));
        }
        return found;
    }

    /// <summary>
    /// The kernel set OpenBLAS should use on this CPU, from its flags. Debian's OpenBLAS 0.3.21 picks its kernels from
    /// the CPU model number, and for models newer than it knows it falls back to older kernels: on this project's Intel
    /// Xeon (family 6, model 207, AVX-512) to Prescott's, 31 GFLOP/s on a 2048³ product on one thread against 155 with
    /// the SkylakeX kernels; on its AMD EPYC (family 26, Zen 5, AVX-512) to Haswell's (AVX2), 103 GFLOP/s against 193
    /// (bench ablation, OPENBLAS_CORETYPE unset vs SkylakeX). Later OpenBLAS releases name SkylakeX (or Cooperlake, the
    /// same single-precision kernels) for every AVX-512 CPU of either vendor. The flags name the instruction set the
    /// kernels need, whatever the model. AMD CPUs without AVX-512 are left to OpenBLAS (it knows Zen 1-3).
    /// </summary>
    internal static string? OpenBlasCoreType() =>
        OpenBlasCoreType(CpuInfo.Field("vendor_id"), CpuInfo.Field("flags").Split(' ').ToHashSet());

    /// <summary>The OpenBLAS kernel set for a CPU vendor and its /proc/cpuinfo flags (null: leave it to OpenBLAS).</summary>
    internal static string? OpenBlasCoreType(string vendor, IReadOnlySet<string> flags)
    {
        if (vendor is not ("GenuineIntel" or "AuthenticAMD"))
            return null;
        if (new[] { "avx512f", "avx512bw", "avx512dq", "avx512vl" }.All(flags.Contains))
            return "SkylakeX";
        return vendor == "GenuineIntel" && new[] { "avx2", "fma" }.All(flags.Contains) ? "Haswell" : null;
    }

    /// <summary>The kernel set the library runs (OpenBLAS's openblas_get_corename), or null when it does not say.</summary>
    public string? CoreName { get; }

    public override void Multiply(bool transposeA, bool transposeB, int m, int n, int k, float alpha, nint a, int lda, nint b, int ldb,
        float beta, nint c, int ldc) =>
        sgemm(RowMajor, transposeA ? Trans : NoTrans, transposeB ? Trans : NoTrans, m, n, k, alpha, (float*)a, lda, (float*)b, ldb, beta, (float*)c, ldc);

    // A loaded library stays loaded for the rest of the process: nothing to release.
}
