namespace AdaptSharp.Data;

/// <summary>
/// The data pipeline's only source of randomness: xoshiro256** seeded through SplitMix64.
/// Pure integer arithmetic, so the same seed gives the same stream on every machine, OS and
/// .NET version (unlike System.Random's unseeded/seeded algorithm choice or torch's RNG, which
/// differs by device and backend). Streams for (seed, epoch, batch) are derived with
/// <see cref="Derive"/> so any batch's randomness can be recomputed without replaying earlier ones.
/// </summary>
public sealed class DeterministicRandom
{
    private ulong s0, s1, s2, s3;

    public DeterministicRandom(ulong seed)
    {
        var x = seed;
        s0 = SplitMix64(ref x);
        s1 = SplitMix64(ref x);
        s2 = SplitMix64(ref x);
        s3 = SplitMix64(ref x);
    }

    public DeterministicRandom(long seed) : this(unchecked((ulong)seed)) { }

    /// <summary>A seed that depends on the base seed and each stream index (e.g. epoch, batch) in order.</summary>
    public static ulong Derive(long seed, params long[] streams)
    {
        var h = unchecked((ulong)seed);
        var state = h ^ 0x6A09E667F3BCC909UL;
        h = SplitMix64(ref state);
        foreach (var s in streams)
        {
            state = h ^ unchecked((ulong)s * 0x9E3779B97F4A7C15UL + 0xBB67AE8584CAA73BUL);
            h = SplitMix64(ref state);
        }
        return h;
    }

    public ulong NextUInt64()
    {
        var result = RotateLeft(s1 * 5, 7) * 9;
        var t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = RotateLeft(s3, 45);
        return result;
    }

    /// <summary>Uniform integer in [0, maxExclusive), without modulo bias (rejection sampling).</summary>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0) throw new ArgumentOutOfRangeException(nameof(maxExclusive));
        var bound = (ulong)maxExclusive;
        var limit = ulong.MaxValue - ulong.MaxValue % bound;
        ulong r;
        do r = NextUInt64(); while (r >= limit);
        return (int)(r % bound);
    }

    /// <summary>Uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public bool NextBool() => (NextUInt64() >> 63) != 0;

    /// <summary>Fisher-Yates shuffle in place.</summary>
    public void Shuffle<T>(T[] items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>A random permutation of 0..n-1.</summary>
    public int[] Permutation(int n)
    {
        var p = new int[n];
        for (var i = 0; i < n; i++) p[i] = i;
        Shuffle(p);
        return p;
    }

    private static ulong SplitMix64(ref ulong x)
    {
        x = unchecked(x + 0x9E3779B97F4A7C15UL);
        return Mix(x);
    }

    /// <summary>splitmix64's output function: the project's one seed mixer (derived per-batch and per-call seeds).</summary>
    public static ulong Mix(ulong z)
    {
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));
}
