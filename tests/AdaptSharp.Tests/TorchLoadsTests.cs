using AdaptSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests;

public class TorchLoadsTests
{
    [Fact]
    public void LibTorchRunsAMatmul()
    {
        using var a = tensor(new float[] { 1, 2, 3, 4 }, new long[] { 2, 2 });
        using var b = a.matmul(a);
        Assert.Equal(new float[] { 7, 10, 15, 22 }, b.data<float>().ToArray());
    }

    [Fact]
    public void AutoDeviceFallsBackToCpuWithoutCuda()
    {
        var device = TorchRuntime.ResolveDevice("auto");
        Assert.Equal(cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU, device.type);
        Assert.Equal(DeviceType.CPU, TorchRuntime.ResolveDevice("cpu").type);
        Assert.Throws<ArgumentException>(() => TorchRuntime.ResolveDevice("tpu"));
    }
}
