using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Data;

/// <summary>
/// Batches an in-memory <see cref="ImageDataset"/>: seeded shuffle per epoch, uint8 to float conversion
/// and augmentation per batch, optional drop-last, and a background task that keeps up to
/// <see cref="DataLoaderOptions.Prefetch"/> batches ready while the model runs. Everything about
/// epoch e (order, augmentation) is a function of the seeds and e only, so a run resumed at
/// (epoch, batch) sees bit-identical batches. Only index tensors and the batch itself are
/// allocated per batch, so memory stays flat across epochs as long as the consumer disposes batches.
/// </summary>
public sealed class DataLoader
{
    public DataLoader(ImageDataset dataset, DataLoaderOptions options)
    {
        options.Validate();
        Dataset = dataset;
        Options = options;
    }

    public ImageDataset Dataset { get; }
    public DataLoaderOptions Options { get; }

    public int BatchesPerEpoch => Options.DropLast
        ? Dataset.Count / Options.BatchSize
        : (Dataset.Count + Options.BatchSize - 1) / Options.BatchSize;

    /// <summary>Sample order of an epoch: identity without a shuffle seed, else a permutation determined by (seed, epoch).</summary>
    public int[] EpochOrder(int epoch)
    {
        if (Options.ShuffleSeed is not { } seed)
            return Enumerable.Range(0, Dataset.Count).ToArray();
        return new DeterministicRandom(DeterministicRandom.Derive(seed, epoch)).Permutation(Dataset.Count);
    }

    /// <summary>
    /// The batches of one epoch, starting at batch <paramref name="startBatch"/> (to resume mid-epoch).
    /// Each yielded batch is owned by the caller, who must dispose it. Leaving the loop early stops the
    /// prefetch task and frees the batches it had prepared.
    /// </summary>
    public IEnumerable<DataBatch> Epoch(int epoch, int startBatch = 0)
    {
        if (startBatch < 0 || startBatch > BatchesPerEpoch) throw new ArgumentOutOfRangeException(nameof(startBatch));
        var order = EpochOrder(epoch);
        return Options.Prefetch == 0 ? Synchronous(order, epoch, startBatch) : Prefetched(order, epoch, startBatch);
    }

    /// <summary>
    /// Builds batch <paramref name="index"/> of an epoch given its order. Thread-safe.
    /// The gather, random crop (zero padding) and flip run in one managed pass over the uint8 buffer,
    /// with the same draws and result as <see cref="TransformPipeline.Apply"/> given
    /// DeterministicRandom(Derive(AugmentationSeed, epoch, index)); torch then only converts to float
    /// and resizes / matches channels. (Small torch ops per sample are slow and, on a busy machine,
    /// intra-op threading of tiny ops makes them slower still.)
    /// </summary>
    public DataBatch BuildBatch(int[] order, int epoch, int index)
    {
        var start = index * Options.BatchSize;
        var count = Math.Min(Options.BatchSize, order.Length - start);
        var sampleIndices = new long[count];
        var labels = new long[count];
        for (var i = 0; i < count; i++)
        {
            sampleIndices[i] = order[start + i];
            labels[i] = Dataset.LabelAt(order[start + i]);
        }

        var transform = Options.Transform;
        var rng = transform.Augments
            ? new DeterministicRandom(DeterministicRandom.Derive(Options.AugmentationSeed, epoch, index))
            : null;
        var pixels = GatherAugmented(sampleIndices, rng is null ? 0 : transform.CropPadding, rng is not null && transform.HorizontalFlip, rng);

        // uint8 -> [0,1] in managed code as well: no torch intra-op threads for the loader's small work.
        var floats = ReusableFloats(pixels.Length);
        // true division, as torch's div_(255) in TransformPipeline.Apply: loader and ToTensors give identical floats
        for (var i = 0; i < floats.Length; i++) floats[i] = pixels[i] / 255f;
        using var scope = NewDisposeScope();
        var raw = tensor(floats, [count, Dataset.Channels, Dataset.Height, Dataset.Width], ScalarType.Float32);
        var images = transform.ResizeAndMatchChannels(raw);
        var labelTensor = tensor(labels, [count], ScalarType.Int64);
        return new DataBatch(images.DetachFromDisposeScope(), labelTensor.DetachFromDisposeScope(), epoch, index, sampleIndices);
    }

    // Same draw order as Transforms.RandomCropAndFlip: (dy, dx) for every sample, then one flip bit per sample.
    private byte[] GatherAugmented(long[] samples, int padding, bool flip, DeterministicRandom? rng)
    {
        int n = samples.Length, c = Dataset.Channels, h = Dataset.Height, w = Dataset.Width;
        var size = c * h * w;
        var offsets = new (int Dy, int Dx)[n];
        var flips = new bool[n];
        if (rng is not null)
        {
            if (padding > 0)
                for (var i = 0; i < n; i++)
                    offsets[i] = (rng.NextInt(2 * padding + 1) - padding, rng.NextInt(2 * padding + 1) - padding);
            if (flip)
                for (var i = 0; i < n; i++)
                    flips[i] = rng.NextBool();
        }

        var source = Dataset.PixelSpan;
        var batch = ReusableBytes(n * size);
        Array.Clear(batch);
        for (var i = 0; i < n; i++)
        {
            var src = source.Slice(checked((int)samples[i]) * size, size);
            var dst = batch.AsSpan(i * size, size);
            var (dy, dx) = offsets[i];
            if (dy == 0 && dx == 0 && !flips[i])
            {
                src.CopyTo(dst);
                continue;
            }
            // Output column x reads crop column x (or w-1-x when flipped), i.e. source column that + dx.
            var x0 = Math.Max(0, -dx);
            var x1 = Math.Min(w, w - dx);
            for (var ch = 0; ch < c; ch++)
                for (var y = 0; y < h; y++)
                {
                    var sy = y + dy;
                    if (sy < 0 || sy >= h || x1 <= x0) continue; // stays zero: padding
                    var srcRow = src.Slice((ch * h + sy) * w, w);
                    var dstRow = dst.Slice((ch * h + y) * w, w);
                    if (!flips[i])
                    {
                        srcRow.Slice(x0 + dx, x1 - x0).CopyTo(dstRow.Slice(x0, x1 - x0));
                    }
                    else
                    {
                        // crop column k = x0..x1-1 goes to output column w-1-k
                        for (var k = x0; k < x1; k++)
                            dstRow[w - 1 - k] = srcRow[k + dx];
                    }
                }
        }
        return batch;
    }

    // Per-thread staging buffers: torch.tensor copies them, so they can be reused for the next batch
    // and the managed heap does not churn large-object allocations every batch.
    [ThreadStatic] private static byte[]? stagingBytes;
    [ThreadStatic] private static float[]? stagingFloats;

    private static byte[] ReusableBytes(int length) =>
        stagingBytes is { } b && b.Length == length ? b : stagingBytes = new byte[length];

    private static float[] ReusableFloats(int length) =>
        stagingFloats is { } f && f.Length == length ? f : stagingFloats = new float[length];

    private IEnumerable<DataBatch> Synchronous(int[] order, int epoch, int startBatch)
    {
        for (var b = startBatch; b < BatchesPerEpoch; b++)
            yield return BuildBatch(order, epoch, b);
    }

    private IEnumerable<DataBatch> Prefetched(int[] order, int epoch, int startBatch)
    {
        using var queue = new BlockingCollection<DataBatch>(Options.Prefetch);
        using var cancel = new CancellationTokenSource();
        var batches = BatchesPerEpoch;
        var producer = Task.Factory.StartNew(() =>
        {
            try
            {
                for (var b = startBatch; b < batches && !cancel.IsCancellationRequested; b++)
                {
                    var batch = BuildBatch(order, epoch, b);
                    try
                    {
                        queue.Add(batch, cancel.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        batch.Dispose();
                        return;
                    }
                }
            }
            finally
            {
                queue.CompleteAdding();
            }
        }, cancel.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        try
        {
            while (true)
            {
                DataBatch? next;
                try
                {
                    if (!queue.TryTake(out next, Timeout.Infinite)) break;
                }
                catch (InvalidOperationException)
                {
                    break; // completed while waiting
                }
                yield return next;
            }
            // Surfaces an exception thrown while building a batch.
            producer.GetAwaiter().GetResult();
        }
        finally
        {
            cancel.Cancel();
            try { producer.Wait(); }
            catch (AggregateException) { /* already surfaced, or the consumer is unwinding from its own exception */ }
            while (queue.TryTake(out var leftover)) leftover.Dispose();
        }
    }
}
