using System.Runtime.InteropServices;

namespace AdaptSharp.Bench;

/// <summary>
/// fp32 GEMM of a system BLAS (OpenBLAS, BLIS) called through cblas_sgemm, loaded at run time when installed
/// (Debian: libopenblas0-pthread, libblis4-pthread), so the benchmark can measure the machine's best GEMM and not
/// only libtorch's own. Hand-written P/Invoke: no served package binds these libraries for .NET on Linux.
/// </summary>
public sealed unsafe class BlasGemm
{
    private const int RowMajor = 101;
    private const int NoTrans = 111;

    private readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> sgemm;

    private BlasGemm(string name, IntPtr handle, int threads)
    {
        Name = name;
        sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)
            NativeLibrary.GetExport(handle, "cblas_sgemm");
        if (NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out var openblas))
            ((delegate* unmanaged<int, void>)openblas)(threads);
        else if (NativeLibrary.TryGetExport(handle, "bli_thread_set_num_threads", out var blis))
            ((delegate* unmanaged<long, void>)blis)(threads);
    }

    public string Name { get; }

    /// <summary>The libraries this machine has, by soname, that export cblas_sgemm.</summary>
    public static IReadOnlyList<BlasGemm> Available(int threads)
    {
        var found = new List<BlasGemm>();
        foreach (var (name, file) in new[] { ("OpenBLAS", "libopenblas.so.0"), ("BLIS", "libblis.so.4") })
        {
            if (NativeLibrary.TryLoad(file, out var h) && NativeLibrary.TryGetExport(h, "cblas_sgemm", out _))
                found.Add(new BlasGemm(name, h, threads));
        }
        return found;
    }

    /// <summary>C = A·B for n x n row-major matrices.</summary>
    public void Multiply(float[] a, float[] b, float[] c, int n)
    {
        fixed (float* pa = a, pb = b, pc = c)
            sgemm(RowMajor, NoTrans, NoTrans, n, n, n, 1f, pa, n, pb, n, 0f, pc, n);
    }

    // The library stays loaded for the rest of the process: nothing to release.
}
