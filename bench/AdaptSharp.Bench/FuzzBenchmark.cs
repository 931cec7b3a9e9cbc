using System.Security.Cryptography;
using AdaptSharp.Fuzzing;

namespace AdaptSharp.Bench;

/// <summary>
/// The fuzz campaign of docs/reliability.md (section 3): CsCheck mutations of valid seed files for every reader of
/// untrusted bytes. <c>fuzz [--inputs N] [--target NAME] [--seed S]</c>; 100,000 inputs per reader by default.
/// The smallest failing input of a reader is written to tests/AdaptSharp.Tests/Fuzz/regressions/TARGET/ (where the
/// regression tests pick it up). A watchdog saves the input and exits 3 if one input runs for a minute (a hang).
/// </summary>
public static class FuzzBenchmark
{
    public static int Run(string[] args)
    {
        var inputs = 100_000L;
        string? only = null, seed = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--inputs": inputs = long.Parse(args[++i]); break;
                case "--target": only = args[++i]; break;
                case "--seed": seed = args[++i]; break;
                default: throw new ArgumentException($"unknown option {args[i]} (fuzz [--inputs N] [--target NAME] [--seed S])");
            }
        }
        var regressions = Path.Combine(RepoRoot(), "tests", "AdaptSharp.Tests", "Fuzz", "regressions");
        using var watchdog = new Timer(_ =>
        {
            var input = FuzzCampaign.CurrentInput;
            if (input is null || Environment.TickCount64 - Interlocked.Read(ref FuzzCampaign.CurrentStartedTicks) < 60_000)
                return;
            var path = Save(regressions, "hang", input);
            Console.Error.WriteLine($"bench: fuzz: an input ran for over a minute (hang); saved to {path}");
            Environment.Exit(3);
        }, null, 5_000, 5_000);

        var targets = only is null ? FuzzTargets.All : [FuzzTargets.Get(only)];
        Console.WriteLine($"| reader | inputs | crashes / contract violations | hangs | seeds | time (s) | inputs/s |");
        Console.WriteLine($"|---|---:|---:|---:|---:|---:|---:|");
        var failed = 0;
        foreach (var target in targets)
        {
            var result = FuzzCampaign.Run(target, inputs, seed, line => Console.Error.WriteLine($"  {target.Name}: {line}"));
            Console.WriteLine($"| {target.Name} | {result.Executions:N0} | {result.Failures} | 0 | {target.Seeds.Count} | {result.Elapsed.TotalSeconds:F0} | {result.Executions / result.Elapsed.TotalSeconds:F0} |");
            if (result.Failures > 0)
            {
                failed++;
                var path = Save(regressions, target.Name, result.SmallestFailingInput!);
                Console.Error.WriteLine($"  {target.Name}: {result.FirstFailure}");
                Console.Error.WriteLine($"  {target.Name}: smallest failing input ({result.SmallestFailingInput!.Length} bytes) saved to {path}");
            }
        }
        return failed == 0 ? 0 : 1;
    }

    private static string Save(string regressions, string target, byte[] input)
    {
        var folder = Path.Combine(regressions, target);
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, Convert.ToHexStringLower(SHA256.HashData(input))[..16] + ".bin");
        File.WriteAllBytes(path, input);
        return path;
    }

    private static string RepoRoot()
    {
        var dir = Directory.GetCurrentDirectory();
        while (dir is not null && !File.Exists(Path.Combine(dir, "AdaptSharp.sln")))
            dir = Path.GetDirectoryName(dir);
        return dir ?? throw new ArgumentException("run from inside the repository (AdaptSharp.sln not found)");
    }
}
