namespace AdaptSharp.Bench;

/// <summary>
/// One measured workload. Times are seconds per call over the whole batch; throughput and FLOP/s use the
/// median; <see cref="PeakFraction"/> is the best run's FLOP/s over the run's GEMM peak (both "least
/// disturbed" figures on a shared machine).
/// </summary>
public sealed record BenchRow(
    string Group,
    string Workload,
    string Model,
    int Batch,
    int Tokens,
    int ImageSize,
    double MedianSeconds,
    double MinSeconds,
    double ImagesPerSecond,
    double FlopsPerImage,
    double GflopPerSecond,
    double PeakFraction,
    double PeakResidentMb,
    string Note = "");
