using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Runtime;

/// <summary>
/// Multi-head attention softmax(Q·Kᵀ/√d)·V of short sequences (up to <see cref="MaxTokens"/> tokens: the CPU presets'
/// 17-25 with their prompts), from the packed qkv projection to the merged heads (<see cref="AttentionHeads"/>), forward
/// and backward in one pass per (image, head) over 256-bit vectors whose lanes are the query tokens. Hand-written because
/// at these sizes libtorch spends its time between kernels, not in them: its path is five operators per block forward
/// (two batched matmuls of 21 x 12 heads, a scale, a softmax, a head merge) and more backward, each a dispatch and a
/// tensor, and every head a separate MKL call of a few hundred multiply-adds. On the demo model (21 tokens, 4 heads of
/// 12) that was 20-32% of an attack step (batch 64 down to 4), and this pass is 1.6-2.0x faster than it there
/// (docs/performance.md, "Speed-ups kept"). With the lanes on the query index,
/// the scores, the softmax (column-wise here), the output and the whole backward are vector operations with no
/// horizontal step but the dot products over queries in dK and dV.
/// Numerics: float32 with fused multiply-adds and .NET's vector exp (within 2 ulp), so values differ from libtorch's by
/// rounding; the tests bound the difference against float64.
/// </summary>
internal sealed class ShortSequenceAttentionFunction : autograd.SingleTensorFunction<ShortSequenceAttentionFunction>
{
    /// <summary>The longest sequence taken (eight vectors of queries); longer ones use libtorch's or the routed attention.</summary>
    public const int MaxTokens = 64;

    private const int Lane = 8;
    private const string HeadsKey = "heads";

    [ThreadStatic]
    private static float[]? scratch;

    public override string Name => "ShortSequenceAttention";

    /// <summary>Whether <paramref name="packed"/> (B, T, 3·W) is one this function takes: fp32 on the CPU, T up to <see cref="MaxTokens"/>, with vector hardware.</summary>
    public static bool Takes(Tensor packed, int heads) =>
        Fma.IsSupported && packed.device_type == DeviceType.CPU && packed.dtype == ScalarType.Float32
        && packed.dim() == 3 && packed.shape[1] <= MaxTokens && packed.shape[2] % (3 * heads) == 0
        && packed.numel() * sizeof(float) <= int.MaxValue;

    /// <summary>Attention of <paramref name="packed"/> (B, T, 3·W, contiguous) with <paramref name="heads"/> heads: (B, T, W).</summary>
    public static Tensor Apply(Tensor packed, int heads)
    {
        if (packed.requires_grad && is_grad_enabled())
            return apply(packed, heads);
        var merged = Forward(packed, heads, out var probabilities);
        probabilities.Dispose();
        return merged;
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (packed, heads) = ((Tensor)vars[0], (int)vars[1]);
        var merged = Forward(packed, heads, out var probabilities);
        ctx.save_for_backward([packed, probabilities]);
        ctx.save_data(HeadsKey, heads);
        return merged;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var saved = ctx.get_saved_variables();
        var (packed, probabilities) = (saved[0], saved[1]);
        var shape = AttentionHeads.Of(packed, (int)ctx.get_data(HeadsKey));
        using var dOut = gradOutput.contiguous();
        var dPacked = empty(shape.B, shape.T, 3 * shape.W, dtype: ScalarType.Float32);
        var (qkv, p, o, dqkv) = (AttentionHeads.Address(packed), AttentionHeads.Address(probabilities),
            AttentionHeads.Address(dOut), AttentionHeads.Address(dPacked));
        shape.ForEach((image, head) => BackwardHead(shape, qkv, p, o, dqkv, image, head));
        // One gradient per forward argument; the head count is not a tensor.
        return [dPacked, null!];
    }

    /// <summary>The merged heads (B, T, W) and the probabilities the backward reads: per pair Pᵀ, T rows of the queries padded to whole vectors.</summary>
    private static Tensor Forward(Tensor packed, int heads, out Tensor probabilities)
    {
        var shape = AttentionHeads.Of(packed, heads);
        probabilities = empty(shape.B, heads, shape.T, Padded(shape.T), dtype: ScalarType.Float32);
        var merged = empty(shape.B, shape.T, shape.W, dtype: ScalarType.Float32);
        var (qkv, p, o) = (AttentionHeads.Address(packed), AttentionHeads.Address(probabilities), AttentionHeads.Address(merged));
        shape.ForEach((image, head) => ForwardHead(shape, qkv, p, o, image, head));
        return merged;
    }

    private static int Padded(int tokens) => (tokens + Lane - 1) / Lane * Lane;

    /// <summary>A pair's tokens, head size, packed row stride, query lanes (tokens padded to whole vectors) and vectors.</summary>
    private static (int T, int D, int Stride, int Lanes, int Vectors) Sizes(AttentionHeads shape)
    {
        var lanes = Padded(shape.T);
        return (shape.T, shape.D, 3 * shape.W, lanes, lanes / Lane);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimised at its first call: tier-0 vector code is many times slower
    private static unsafe void ForwardHead(AttentionHeads shape, nint qkv, nint probabilities, nint merged, int image, int head)
    {
        var (t, d, stride, lanes, vectors) = Sizes(shape);
        var q = (float*)shape.Head(qkv, image, 0, head);
        var k = (float*)shape.Head(qkv, image, 1, head);
        var v = (float*)shape.Head(qkv, image, 2, head);
        var pT = (float*)shape.Scores(probabilities, image, head, lanes);
        var buffer = Scratch(((2 * d) + 2) * lanes);
        fixed (float* s = buffer)
        {
            var qT = s;
            var oT = qT + (d * lanes);
            var max = oT + (d * lanes);
            var sum = max + lanes;
            Transpose(q, stride, t, d, lanes, qT);
            // Sᵀ[j, i] = (k_j · q_i)/√d, then the softmax over keys j per query lane
            Product(k, stride, 1, t, d, qT, lanes, pT, shape.Scale);
            for (var x = 0; x < vectors; x++)
            {
                var m = Vector256.Load(pT + (x * Lane));
                for (var j = 1; j < t; j++)
                    m = Vector256.Max(m, Vector256.Load(pT + (j * lanes) + (x * Lane)));
                var total = Vector256<float>.Zero;
                for (var j = 0; j < t; j++)
                {
                    var e = Vector256.Exp(Vector256.Load(pT + (j * lanes) + (x * Lane)) - m);
                    e.Store(pT + (j * lanes) + (x * Lane));
                    total += e;
                }
                total.Store(sum + (x * Lane));
            }
            for (var j = 0; j < t; j++)
                for (var x = 0; x < vectors; x++)
                    (Vector256.Load(pT + (j * lanes) + (x * Lane)) / Vector256.Load(sum + (x * Lane))).Store(pT + (j * lanes) + (x * Lane));
            // Oᵀ[c, i] = Σ_j V[j, c] · Pᵀ[j, i], written back as the head's columns of the merged rows
            Product(v, 1, stride, d, t, pT, lanes, oT, 1f);
            Untranspose(oT, d, lanes, t, (float*)shape.Output(merged, image, head), shape.W);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimised at its first call: tier-0 vector code is many times slower
    private static unsafe void BackwardHead(AttentionHeads shape, nint qkv, nint probabilities, nint dMerged, nint dPacked, int image, int head)
    {
        var (t, d, stride, lanes, vectors) = Sizes(shape);
        var q = (float*)shape.Head(qkv, image, 0, head);
        var k = (float*)shape.Head(qkv, image, 1, head);
        var v = (float*)shape.Head(qkv, image, 2, head);
        var pT = (float*)shape.Scores(probabilities, image, head, lanes);
        var buffer = Scratch(((3 * d) + t + 1) * lanes);
        fixed (float* s = buffer)
        {
            var qT = s;
            var dOT = qT + (d * lanes);
            var dQT = dOT + (d * lanes);
            var dST = dQT + (d * lanes);
            var rowSum = dST + (t * lanes);
            Transpose(q, stride, t, d, lanes, qT);
            Transpose((float*)shape.Output(dMerged, image, head), shape.W, t, d, lanes, dOT);
            // dV[j, c] = Σ_i P[i, j] · dO[i, c]; the padding lanes of dOᵀ are zero, so they add nothing
            Dots(pT, t, dOT, d, vectors, (float*)shape.Head(dPacked, image, 2, head), stride);
            // dPᵀ[j, i] = Σ_c V[j, c] · dO[i, c]; then the softmax's backward and the scale, in place:
            // dSᵀ = Pᵀ ⊙ (dPᵀ − Σ_j dPᵀ ⊙ Pᵀ) / √d
            Product(v, stride, 1, t, d, dOT, lanes, dST, 1f);
            var scale = Vector256.Create(shape.Scale);
            for (var x = 0; x < vectors; x++)
            {
                var r = Vector256<float>.Zero;
                for (var j = 0; j < t; j++)
                    r = Fma.MultiplyAdd(Vector256.Load(dST + (j * lanes) + (x * Lane)), Vector256.Load(pT + (j * lanes) + (x * Lane)), r);
                for (var j = 0; j < t; j++)
                {
                    var at = dST + (j * lanes) + (x * Lane);
                    (Vector256.Load(pT + (j * lanes) + (x * Lane)) * (Vector256.Load(at) - r) * scale).Store(at);
                }
            }
            // dQᵀ[c, i] = Σ_j K[j, c] · dSᵀ[j, i]; dK[j, c] = Σ_i dS[i, j] · Q[i, c] (dSᵀ's padding lanes are zero, as dOᵀ's)
            Product(k, 1, stride, d, t, dST, lanes, dQT, 1f);
            Untranspose(dQT, d, lanes, t, (float*)shape.Head(dPacked, image, 0, head), stride);
            Dots(dST, t, qT, d, vectors, (float*)shape.Head(dPacked, image, 1, head), stride);
        }
    }

    /// <summary>
    /// C[r, ·] = scale · Σ_m A[r, m] · B[m, ·] over whole vectors of lanes: A is rows × inner scalars at the given strides,
    /// B and C hold <paramref name="lanes"/> floats per row. Four rows at a time share each load of B (four independent
    /// chains of fused multiply-adds).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimised at its first call: tier-0 vector code is many times slower
    private static unsafe void Product(float* a, nint rowStride, nint innerStride, int rows, int inner, float* b, int lanes, float* c, float scale)
    {
        var factor = Vector256.Create(scale);
        for (var x = 0; x < lanes; x += Lane)
        {
            var r = 0;
            for (; r + 4 <= rows; r += 4)
            {
                var a0 = a + (r * rowStride);
                var a1 = a0 + rowStride;
                var a2 = a1 + rowStride;
                var a3 = a2 + rowStride;
                Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
                for (var m = 0; m < inner; m++)
                {
                    var bm = Vector256.Load(b + (m * lanes) + x);
                    var offset = m * innerStride;
                    c0 = Fma.MultiplyAdd(Vector256.Create(a0[offset]), bm, c0);
                    c1 = Fma.MultiplyAdd(Vector256.Create(a1[offset]), bm, c1);
                    c2 = Fma.MultiplyAdd(Vector256.Create(a2[offset]), bm, c2);
                    c3 = Fma.MultiplyAdd(Vector256.Create(a3[offset]), bm, c3);
                }
                (c0 * factor).Store(c + (r * lanes) + x);
                (c1 * factor).Store(c + ((r + 1) * lanes) + x);
                (c2 * factor).Store(c + ((r + 2) * lanes) + x);
                (c3 * factor).Store(c + ((r + 3) * lanes) + x);
            }
            for (; r < rows; r++)
            {
                var ar = a + (r * rowStride);
                var acc = Vector256<float>.Zero;
                for (var m = 0; m < inner; m++)
                    acc = Fma.MultiplyAdd(Vector256.Create(ar[m * innerStride]), Vector256.Load(b + (m * lanes) + x), acc);
                (acc * factor).Store(c + (r * lanes) + x);
            }
        }
    }

    /// <summary>
    /// Out[j, c] = Σ_lanes A[j, ·] ⊙ B[c, ·] for j &lt; <paramref name="rowsA"/>, c &lt; <paramref name="rowsB"/> (rows of
    /// whole vectors), written at <paramref name="output"/> with rows <paramref name="stride"/> apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimised at its first call: tier-0 vector code is many times slower
    private static unsafe void Dots(float* a, int rowsA, float* b, int rowsB, int vectors, float* output, int stride)
    {
        var lanes = vectors * Lane;
        for (var j = 0; j < rowsA; j++)
        {
            var aj = a + (j * lanes);
            var row = output + ((nint)j * stride);
            var c = 0;
            for (; c + 4 <= rowsB; c += 4)
            {
                Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
                for (var x = 0; x < lanes; x += Lane)
                {
                    var ax = Vector256.Load(aj + x);
                    s0 = Fma.MultiplyAdd(ax, Vector256.Load(b + (c * lanes) + x), s0);
                    s1 = Fma.MultiplyAdd(ax, Vector256.Load(b + ((c + 1) * lanes) + x), s1);
                    s2 = Fma.MultiplyAdd(ax, Vector256.Load(b + ((c + 2) * lanes) + x), s2);
                    s3 = Fma.MultiplyAdd(ax, Vector256.Load(b + ((c + 3) * lanes) + x), s3);
                }
                row[c] = Vector256.Sum(s0);
                row[c + 1] = Vector256.Sum(s1);
                row[c + 2] = Vector256.Sum(s2);
                row[c + 3] = Vector256.Sum(s3);
            }
            for (; c < rowsB; c++)
            {
                var acc = Vector256<float>.Zero;
                for (var x = 0; x < lanes; x += Lane)
                    acc = Fma.MultiplyAdd(Vector256.Load(aj + x), Vector256.Load(b + (c * lanes) + x), acc);
                row[c] = Vector256.Sum(acc);
            }
        }
    }

    /// <summary>Columns × lanes back into rows × columns at <paramref name="target"/> (row stride <paramref name="stride"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimised at its first call: tier-0 vector code is many times slower
    private static unsafe void Untranspose(float* source, int columns, int lanes, int rows, float* target, int stride)
    {
        for (var c = 0; c < columns; c++)
            for (var i = 0; i < rows; i++)
                target[((nint)i * stride) + c] = source[(c * lanes) + i];
    }

    /// <summary>Rows × columns (row stride <paramref name="stride"/>) into columns × <paramref name="lanes"/>, padding lanes zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimised at its first call: tier-0 vector code is many times slower
    private static unsafe void Transpose(float* source, int stride, int rows, int columns, int lanes, float* target)
    {
        for (var c = 0; c < columns; c++)
        {
            var line = target + (c * lanes);
            for (var i = 0; i < rows; i++)
                line[i] = source[((nint)i * stride) + c];
            for (var i = rows; i < lanes; i++)
                line[i] = 0f;
        }
    }

    /// <summary>This thread's working memory (a few KB per pair), kept between calls.</summary>
    private static float[] Scratch(int floats)
    {
        if (scratch is null || scratch.Length < floats)
            scratch = new float[Math.Max(floats, 4096)];
        return scratch;
    }
}
