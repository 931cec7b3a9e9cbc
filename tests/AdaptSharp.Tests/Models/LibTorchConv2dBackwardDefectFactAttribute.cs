namespace AdaptSharp.Tests.Models;

/// <summary>Runs only on CPUs where libtorch's conv2d backward shows the defect of PLATFORM.md (e.g. AMD Zen 4).</summary>
public sealed class LibTorchConv2dBackwardDefectFactAttribute : FactAttribute
{
    public LibTorchConv2dBackwardDefectFactAttribute()
    {
        if (Conv2dBackwardProbe.Measured.BackwardRatio <= 1)
            Skip = "libtorch's conv2d backward is right on this CPU; the defect (AMD Zen 4, AVX-512) does not show here";
    }
}
