using static TorchSharp.torch;

namespace AdaptSharp.Models;

/// <summary>
/// Refuses a model whose clean logits hold NaN or infinity: argmax would read such a row as class 0 and every
/// accuracy computed from it would be a silent wrong result.
/// </summary>
internal static class FiniteOutputs
{
    /// <summary>Runs f_P on <paramref name="images"/> in batches and throws a one-line error naming <paramref name="what"/> on a non-finite logit.</summary>
    public static void Require(VisionTransformer model, Tensor images, int batchSize, string what)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var device = model.parameters().First().device;
        long bad = 0;
        using (no_grad())
        {
            for (long start = 0; start < images.shape[0]; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var n = Math.Min(batchSize, images.shape[0] - start);
                var logits = model.Forward(images.narrow(0, start, n).to(device), usePrompts: true);
                bad += logits.isfinite().logical_not().sum().item<long>();
            }
        }
        if (bad > 0)
            throw new InvalidDataException($"{what}: the model produces {bad} non-finite logit(s) (NaN or infinity) on clean inputs; refusing to score it");
    }
}
