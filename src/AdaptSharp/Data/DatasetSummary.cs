using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Data;

/// <summary>What `adapt data inspect` reports: sizes, per-class counts and the [0,1] value range and channel means.</summary>
internal sealed record DatasetSummary(
    string Name,
    int Count,
    int Channels,
    int Height,
    int Width,
    IReadOnlyList<string> ClassNames,
    IReadOnlyList<long> ClassCounts,
    double Min,
    double Max,
    IReadOnlyList<double> ChannelMeans)
{
    /// <summary>Computes the summary in chunks, so memory stays small even for large image folders.</summary>
    public static DatasetSummary Compute(ImageDataset data)
    {
        const int chunk = 2048;
        long min = 255, max = 0;
        var sums = new double[data.Channels];
        for (var start = 0; start < data.Count; start += chunk)
        {
            using var scope = NewDisposeScope();
            var n = Math.Min(chunk, data.Count - start);
            var part = data.Images.narrow(0, start, n);
            min = Math.Min(min, part.min().item<byte>());
            max = Math.Max(max, part.max().item<byte>());
            var channelSums = part.to_type(ScalarType.Float64).sum([0, 2, 3]).data<double>().ToArray();
            for (var c = 0; c < sums.Length; c++) sums[c] += channelSums[c];
        }
        var perChannel = (double)data.Count * data.Height * data.Width * 255.0;
        var means = sums.Select(s => data.Count == 0 ? 0.0 : s / perChannel).ToArray();
        return new DatasetSummary(data.Name, data.Count, data.Channels, data.Height, data.Width, data.ClassNames,
            data.ClassCounts(), data.Count == 0 ? 0 : min / 255.0, data.Count == 0 ? 0 : max / 255.0, means);
    }
}
