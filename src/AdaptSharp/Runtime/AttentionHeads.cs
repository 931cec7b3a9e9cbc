using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace AdaptSharp.Runtime;

/// <summary>
/// The head layout the attention functions share: the packed qkv projection (B, T, 3·W; per token q, k, v, each head
/// after head, as timm lays them out) and the merged heads (B, T, W), with every (image, head) pair's work shared out
/// over torch's threads in contiguous runs (each pair written by one thread, so the same bits at every thread count).
/// </summary>
internal readonly record struct AttentionHeads(int B, int T, int H, int D)
{
    public int W => H * D;

    public float Scale => (float)(1.0 / Math.Sqrt(D));

    public static AttentionHeads Of(Tensor packed, int heads)
    {
        var width = checked((int)packed.shape[2] / 3);
        return new AttentionHeads(checked((int)packed.shape[0]), checked((int)packed.shape[1]), heads, width / heads);
    }

    /// <summary>Part <paramref name="part"/> (0 q, 1 k, 2 v) of a head in the packed (B, T, 3·W) layout; rows 3·W apart.</summary>
    public nint Head(nint packed, int image, int part, int head) => packed + sizeof(float) * (((nint)image * T * 3 * W) + (part * W) + (head * D));

    /// <summary>A head's columns of the merged (B, T, W) output; rows W apart.</summary>
    public nint Output(nint merged, int image, int head) => merged + sizeof(float) * (((nint)image * T * W) + (head * D));

    /// <summary>A head's T x <paramref name="columns"/> block of a (B, H, T, columns) score tensor.</summary>
    public nint Scores(nint scores, int image, int head, int columns) => scores + sizeof(float) * ((((nint)image * H) + head) * T * columns);

    /// <summary>Every (image, head) pair once, shared out over torch's threads in contiguous runs.</summary>
    public void ForEach(Action<int, int> pair)
    {
        var pairs = B * H;
        var threads = Math.Clamp(get_num_threads(), 1, pairs);
        if (threads == 1)
        {
            for (var i = 0; i < pairs; i++)
                pair(i / H, i % H);
            return;
        }
        var heads = H;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            for (var i = pairs * t / threads; i < pairs * (t + 1) / threads; i++)
                pair(i / heads, i % heads);
        });
    }

    /// <summary>A contiguous CPU tensor's storage: native memory that the tensor (alive for the whole call) keeps in place.</summary>
    public static unsafe nint Address(Tensor t) => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));
}
