using AdaptSharp.Checkpoints;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Checkpoints;

public sealed class TensorBytesTests
{
    [Fact]
    public void LargeTensorsAreVisitedInOrderedSlices()
    {
        // The 1 GiB slicing used for huge tensors, exercised with 12-byte slices over 10 floats.
        using var t = arange(10, dtype: ScalarType.Float32);
        var seen = new List<byte>();
        var sizes = new List<int>();
        TensorBytes.ForEachSpan(t, span => { seen.AddRange(span.ToArray()); sizes.Add(span.Length); }, chunkBytes: 12);
        Assert.Equal(new[] { 12, 12, 12, 4 }, sizes);
        Assert.Equal(t.bytes.ToArray(), seen.ToArray());

        using var target = zeros(10, dtype: ScalarType.Float32);
        var source = new Queue<byte>(seen);
        TensorBytes.ForEachSpan(target, span => { for (var i = 0; i < span.Length; i++) span[i] = source.Dequeue(); }, chunkBytes: 12);
        Assert.True(target.allclose(t, rtol: 0, atol: 0));
    }
}
