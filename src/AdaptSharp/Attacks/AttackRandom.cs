using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// Seeded random source for one attack call. Draws on the CPU generator and moves the result to the
/// target device, so a seed gives the same numbers on every device.
/// </summary>
internal sealed class AttackRandom : IDisposable
{
    private readonly Generator generator;

    public AttackRandom(long seed)
    {
        generator = new Generator(unchecked((ulong)seed));
    }

    /// <summary>Uniform in [low, high) with the dtype and device of <paramref name="like"/> and its shape (or <paramref name="shape"/>).</summary>
    public Tensor Uniform(Tensor like, double low, double high, long[]? shape = null) =>
        Place(rand(shape ?? like.shape, ScalarType.Float32, CPU, generator: generator), like) * (high - low) + low;

    /// <summary>Standard normal with the shape of <paramref name="like"/>.</summary>
    public Tensor Normal(Tensor like) => Place(randn(like.shape, ScalarType.Float32, CPU, generator: generator), like);

    /// <summary>Random signs (+1/-1) of the given shape, on the device of <paramref name="like"/>.</summary>
    public Tensor Signs(long[] shape, Tensor like) => Place(randint(0, 2, shape, ScalarType.Float32, CPU, generator: generator) * 2 - 1, like);

    /// <summary>A host integer uniform in [low, high).</summary>
    public int NextInt(int low, int high)
    {
        if (high <= low)
            return low;
        using var t = randint(low, high, new long[] { 1 }, ScalarType.Int64, CPU, generator: generator);
        return (int)t.item<long>();
    }

    private static Tensor Place(Tensor t, Tensor like) => t.to(like.dtype, like.device);

    public void Dispose() => generator.Dispose();
}
