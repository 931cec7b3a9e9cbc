using static TorchSharp.torch;

namespace AdaptSharp.Data;

/// <summary>
/// One batch: float images in [0,1] (N,C,H,W) and int64 labels (N), on the CPU. The consumer owns it:
/// the tensors belong to no dispose scope (they may have been built on the prefetch thread), so
/// dispose the batch (or move the tensors into a scope of your own) when done with it.
/// </summary>
public sealed class DataBatch : IDisposable
{
    public DataBatch(Tensor images, Tensor labels, int epoch, int index, long[] sampleIndices)
    {
        Images = images;
        Labels = labels;
        Epoch = epoch;
        Index = index;
        SampleIndices = sampleIndices;
    }

    public Tensor Images { get; }
    public Tensor Labels { get; }
    public int Epoch { get; }

    /// <summary>Batch number within the epoch.</summary>
    public int Index { get; }

    /// <summary>Positions of the batch's samples in the dataset.</summary>
    public long[] SampleIndices { get; }

    public int Count => SampleIndices.Length;

    public void Deconstruct(out Tensor images, out Tensor labels)
    {
        images = Images;
        labels = Labels;
    }

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
