namespace AdaptSharp.Bench;

/// <summary>
/// Benchmarks: <c>dotnet run -c Release --project bench/AdaptSharp.Bench -- SUITE [options]</c>.
/// Each suite is one class with a static Run(string[] args) returning an exit code.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var suite = args.Length > 0 ? args[0] : "";
        var rest = args.Skip(1).ToArray();
        switch (suite)
        {
            case "loader":
                return LoaderBenchmark.Run(rest);
            case "train":
                return TrainBenchmark.Run(rest);
            default:
                Console.Error.WriteLine("usage: AdaptSharp.Bench SUITE [options]; suites: loader, train");
                return 2;
        }
    }
}
