namespace AdaptSharp.Bench;

/// <summary>
/// Benchmarks: <c>dotnet run -c Release --project bench/AdaptSharp.Bench -- SUITE [options]</c>.
/// Each suite is one class with a static Run(string[] args) returning an exit code; <c>all</c> runs the
/// performance suites (perf, attacks, train, memory, ablation) in one process, then the loader suite.
/// <c>fuzz</c> is the parser fuzz campaign of docs/reliability.md (not part of <c>all</c>).
/// Results go to docs/bench/SUITE.{json,md} and docs/performance.md.
/// </summary>
public static class Program
{
    private const string Suites = "loader, perf, attacks, train, memory, ablation, gemm, all, peer, fuzz";

    public static int Main(string[] args)
    {
        try
        {
            return RunSuite(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"bench: {e.Message}");
            return 2;
        }
    }

    private static int RunSuite(string[] args)
    {
        var suite = args.Length > 0 ? args[0] : "";
        var rest = args.Skip(1).ToArray();
        switch (suite)
        {
            case "loader":
                return LoaderBenchmark.Run(rest);
            case "perf":
                return PerformanceBenchmark.Run(rest);
            case "attacks":
                return AttackBenchmark.Run(rest);
            case "train":
                return TrainBenchmark.Run(rest);
            case "memory":
                return MemoryBenchmark.Run(rest);
            case "ablation":
                return AblationBenchmark.Run(rest);
            case "peer":
                return PeerBenchmark.Run(rest);
            case "gemm":
                // The ablation's GEMM-route group alone, in its own section (docs/bench/gemm.md).
                return AblationBenchmark.Run(new BenchContext(["--groups", "gemm", .. rest]), "gemm");
            case "fuzz":
                return FuzzBenchmark.Run(rest);
            case "all":
                var context = new BenchContext(rest);
                var failures = 0;
                failures += PerformanceBenchmark.Run(context, "perf") != 0 ? 1 : 0;
                failures += AttackBenchmark.Run(context, "attacks") != 0 ? 1 : 0;
                failures += TrainBenchmark.Run(context, "train") != 0 ? 1 : 0;
                failures += MemoryBenchmark.Run(context, "memory") != 0 ? 1 : 0;
                failures += AblationBenchmark.Run(context, "ablation") != 0 ? 1 : 0;
                failures += LoaderBenchmark.Run(["--quick"]) != 0 ? 1 : 0;
                return failures == 0 ? 0 : 1;
            default:
                Console.Error.WriteLine($"usage: AdaptSharp.Bench SUITE [options]; suites: {Suites}");
                return 2;
        }
    }
}
