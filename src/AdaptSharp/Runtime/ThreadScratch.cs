using System.Runtime.InteropServices;

namespace AdaptSharp.Runtime;

/// <summary>
/// Each thread's working memory for the model's kernels: one 64-byte aligned buffer per <see cref="Slot"/>, grown as
/// needed and kept for the thread's next call (freed with the thread), since allocating megabytes per product would
/// fault their pages in every time. Fresh memory is filled with NaN, so that a kernel reading what it did not write
/// shows in its results (the tests rely on it for the attention's padding).
/// </summary>
internal static unsafe class ThreadScratch
{
    /// <summary>What a buffer holds; buffers of different slots are alive at the same time.</summary>
    public enum Slot
    {
        /// <summary>op(B) packed by <see cref="Avx512Gemm.PackColumns"/> for one product.</summary>
        PackedB,

        /// <summary>The fused feed-forward's block of hidden activations (or of their gradient).</summary>
        FeedForwardBlock,

        /// <summary>The fused feed-forward's first product's packed weight.</summary>
        FeedForwardFirstWeight,

        /// <summary>The fused feed-forward's second product's packed weight.</summary>
        FeedForwardSecondWeight,

        /// <summary>One attention head's score gradient (<see cref="GemmAttentionFunction"/>).</summary>
        ScoreGradient,
    }

    private const int Slots = (int)Slot.ScoreGradient + 1;

    [ThreadStatic]
    private static Buffers? current;

    /// <summary>The calling thread's buffer for <paramref name="slot"/>, at least <paramref name="floats"/> floats, valid until its next call for that slot.</summary>
    public static float* Get(Slot slot, long floats)
    {
        var buffers = current ??= new Buffers();
        var i = (int)slot;
        if (buffers.Lengths[i] < floats)
        {
            NativeMemory.AlignedFree(buffers.Pointers[i]);
            buffers.Pointers[i] = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
            buffers.Lengths[i] = floats;
            new Span<float>(buffers.Pointers[i], checked((int)floats)).Fill(float.NaN);
        }
        return buffers.Pointers[i];
    }

    private sealed class Buffers
    {
        public readonly float*[] Pointers = new float*[Slots];
        public readonly long[] Lengths = new long[Slots];

        ~Buffers()
        {
            foreach (var pointer in Pointers)
                NativeMemory.AlignedFree(pointer);
        }
    }
}
