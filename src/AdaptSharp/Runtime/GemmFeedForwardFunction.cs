using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AdaptSharp.Runtime;

/// <summary>
/// timm's Mlp, fc2(GELU(fc1(x))) with the exact (erf) GELU, for frozen parameters (an attack's model, ADAPT's backbone)
/// on the AVX-512 kernel, as one autograd function that works through blocks of <see cref="RowsPerBlock"/> rows: a
/// block's hidden activations are computed, put through the GELU and multiplied by fc2 while they are in the core's
/// cache, and only GELU's derivative at them is kept for the backward, which takes a block's gradient through fc2's
/// transpose, the derivative and fc1's transpose the same way. Unfused, each of vit-small's hidden layers (1,536 wide)
/// went through memory five more times per attack step (the hidden activations written, read and written again by
/// libtorch's GELU, read by fc2; the backward likewise) and the GELU and its backward were 4% of the step.
/// The products are the kernel's (the same sums as <see cref="GemmLinearFunction"/> on it); the GELU is
/// x·Φ(x) and its derivative Φ(x) + x·φ(x) (<see cref="Gelu"/>), within float rounding of libtorch's.
/// Rows do not depend on blocks or threads: the same bits at every thread count.
/// </summary>
internal sealed unsafe class GemmFeedForwardFunction : autograd.SingleTensorFunction<GemmFeedForwardFunction>
{
    private const string WeightsKey = "weights";

    /// <summary>Rows per block: a block's hidden activations (48 x 1,536 floats for vit-small) stay in the L2 cache.</summary>
    public const int RowsPerBlock = 48;

    public override string Name => "GemmFeedForward";

    /// <summary>fc1's and fc2's parameters, contiguous fp32 CPU tensors that need no gradient (biases may be absent).</summary>
    public sealed record Weights(Tensor Fc1Weight, Tensor? Fc1Bias, Tensor Fc2Weight, Tensor? Fc2Bias);

    /// <summary>
    /// Whether the fused function takes this layer: the AVX-512 kernel is the route's library for its products (wide
    /// ones, fp32 CPU input, <see cref="GemmRouting.FusesFeedForward"/>), and no parameter needs a gradient.
    /// </summary>
    public static bool Takes(Tensor x, Linear fc1, Linear fc2)
    {
        Tensor?[] parameters = [fc1.weight, fc1.bias, fc2.weight, fc2.bias];
        return parameters.All(p => p is null || (!p.requires_grad && p.dtype == ScalarType.Float32 && p.device_type == DeviceType.CPU && p.is_contiguous()))
            && fc1.weight is not null && fc2.weight is not null
            && GemmRouting.FusesFeedForward(x, fc1.weight.shape[1], fc1.weight.shape[0]);
    }

    /// <summary>fc2(GELU(fc1(x))) for <paramref name="x"/> (M, width) contiguous, differentiable when x needs a gradient.</summary>
    public static Tensor Apply(Tensor x, Weights weights) =>
        x.requires_grad && is_grad_enabled() ? apply(x, weights) : Forward(x, weights, null);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (x, weights) = ((Tensor)vars[0], (Weights)vars[1]);
        var derivative = empty(x.shape[0], weights.Fc1Weight.shape[0], dtype: ScalarType.Float32);
        ctx.save_for_backward([derivative]);
        ctx.save_data(WeightsKey, weights);
        return Forward(x, weights, derivative);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var derivative = ctx.get_saved_variables()[0];
        var w = (Weights)ctx.get_data(WeightsKey);
        using var dy = gradOutput.contiguous();
        var (m, width, hidden) = (checked((int)dy.shape[0]), checked((int)w.Fc1Weight.shape[1]), checked((int)w.Fc1Weight.shape[0]));
        var dx = empty(m, width, dtype: ScalarType.Float32);
        var (dyAt, dxAt, gAt) = (AttentionHeads.Address(dy), AttentionHeads.Address(dx), AttentionHeads.Address(derivative));
        // op(B) = fc2's weight (width x hidden) for dy·W2, then fc1's (hidden x width) for dh·W1: both as stored.
        var (second, first) = PackBoth(false, (hidden, width, w.Fc2Weight), (width, hidden, w.Fc1Weight));
        ForEachBlock(m, hidden, (start, end, block) =>
        {
            var blockBase = block - ((nint)start * hidden * sizeof(float));
            Avx512Gemm.MultiplyRows(false, start, end, hidden, width, 1f, (float*)dyAt, width, (float*)second, 0f, (float*)blockBase, hidden);
            Gelu.ScaleByDerivative(block, gAt + ((nint)start * hidden * sizeof(float)), (long)(end - start) * hidden);
            Avx512Gemm.MultiplyRows(false, start, end, width, hidden, 1f, (float*)blockBase, hidden, (float*)first, 0f, (float*)dxAt, width);
        });
        return [dx, null!];
    }

    private static Tensor Forward(Tensor x, Weights w, Tensor? derivative)
    {
        var (m, width, hidden) = (checked((int)x.shape[0]), checked((int)x.shape[1]), checked((int)w.Fc1Weight.shape[0]));
        var y = empty(m, width, dtype: ScalarType.Float32);
        var (xAt, yAt, gAt) = (AttentionHeads.Address(x), AttentionHeads.Address(y), derivative is null ? 0 : AttentionHeads.Address(derivative));
        var (b1, b2) = (w.Fc1Bias is null ? 0 : AttentionHeads.Address(w.Fc1Bias), w.Fc2Bias is null ? 0 : AttentionHeads.Address(w.Fc2Bias));
        // op(B) = fc1's weight transposed (width x hidden), then fc2's (hidden x width).
        var (first, second) = PackBoth(true, (hidden, width, w.Fc1Weight), (width, hidden, w.Fc2Weight));
        ForEachBlock(m, hidden, (start, end, block) =>
        {
            var blockBase = block - ((nint)start * hidden * sizeof(float));
            Avx512Gemm.MultiplyRows(false, start, end, hidden, width, 1f, (float*)xAt, width, (float*)first, 0f, (float*)blockBase, hidden, (float*)b1);
            Gelu.Apply(block, gAt == 0 ? 0 : gAt + ((nint)start * hidden * sizeof(float)), (long)(end - start) * hidden);
            Avx512Gemm.MultiplyRows(false, start, end, width, hidden, 1f, (float*)blockBase, hidden, (float*)second, 0f, (float*)yAt, width, (float*)b2);
        });
        return y;
    }

    /// <summary>
    /// Both products' op(B) (n x k each, from the weight as stored or transposed) packed into the calling thread's
    /// buffers, their panels shared out over torch's threads.
    /// </summary>
    private static (nint First, nint Second) PackBoth(bool transpose, (int N, int K, Tensor Weight) first, (int N, int K, Tensor Weight) second)
    {
        var packed = (First: (nint)ThreadScratch.Get(ThreadScratch.Slot.FeedForwardFirstWeight, Avx512Gemm.PackedLength(first.N, first.K)),
            Second: (nint)ThreadScratch.Get(ThreadScratch.Slot.FeedForwardSecondWeight, Avx512Gemm.PackedLength(second.N, second.K)));
        var (b1, b2) = (AttentionHeads.Address(first.Weight), AttentionHeads.Address(second.Weight));
        const int width = Avx512Gemm.PanelWidth;
        var (panels1, panels2) = ((first.N + width - 1) / width, (second.N + width - 1) / width);
        var threads = Math.Clamp(get_num_threads(), 1, panels1 + panels2);
        void Pack(int t)
        {
            // Thread t packs its share of the panels of both, counted as one list.
            var (from, to) = ((panels1 + panels2) * t / threads, (panels1 + panels2) * (t + 1) / threads);
            for (var panel = from; panel < to; panel++)
            {
                var (n, k, b, into, j) = panel < panels1
                    ? (first.N, first.K, b1, packed.First, panel)
                    : (second.N, second.K, b2, packed.Second, panel - panels1);
                Avx512Gemm.PackColumns(transpose, j * width, Math.Min(n, (j + 1) * width), k, (float*)b, transpose ? k : n, (float*)into);
            }
        }
        if (threads == 1)
            Pack(0);
        else
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, Pack);
        return packed;
    }

    /// <summary>
    /// Runs <paramref name="work"/>(start, end, block) for every block of rows, with block the running thread's buffer of
    /// <see cref="RowsPerBlock"/> x <paramref name="hidden"/> floats; blocks taken as threads come free.
    /// </summary>
    private static void ForEachBlock(int m, int hidden, Action<int, int, nint> work)
    {
        var blocks = (m + RowsPerBlock - 1) / RowsPerBlock;
        void Block(int block)
        {
            var buffer = (nint)ThreadScratch.Get(ThreadScratch.Slot.FeedForwardBlock, (long)RowsPerBlock * hidden);
            work(block * RowsPerBlock, Math.Min(m, (block + 1) * RowsPerBlock), buffer);
        }
        var threads = Math.Clamp(get_num_threads(), 1, blocks);
        if (threads == 1)
        {
            for (var block = 0; block < blocks; block++)
                Block(block);
            return;
        }
        Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = threads }, Block);
    }
}
