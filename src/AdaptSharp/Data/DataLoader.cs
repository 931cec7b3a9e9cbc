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

    /// <summary>Builds batch <paramref name="index"/> of an epoch given its order. Thread-safe.</summary>
    public DataBatch BuildBatch(int[] order, int epoch, int index)
    {
        var start = index * Options.BatchSize;
        var count = Math.Min(Options.BatchSize, order.Length - start);
        var sampleIndices = new long[count];
        for (var i = 0; i < count; i++) sampleIndices[i] = order[start + i];

        using var scope = NewDisposeScope();
        Tensor pixels, labels;
        if (Options.ShuffleSeed is null)
        {
            pixels = Dataset.Images.narrow(0, start, count);
            labels = Dataset.Labels.narrow(0, start, count).clone();
        }
        else
        {
            var idx = tensor(sampleIndices, [count], ScalarType.Int64);
            pixels = Dataset.Images.index_select(0, idx);
            labels = Dataset.Labels.index_select(0, idx);
        }
        var rng = Options.Transform.Augments
            ? new DeterministicRandom(DeterministicRandom.Derive(Options.AugmentationSeed, epoch, index))
            : null;
        var images = Options.Transform.Apply(pixels, rng);
        return new DataBatch(images.DetachFromDisposeScope(), labels.DetachFromDisposeScope(), epoch, index, sampleIndices);
    }

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
