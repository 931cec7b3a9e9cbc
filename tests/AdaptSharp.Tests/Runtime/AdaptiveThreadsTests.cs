using System.Diagnostics;
using System.Globalization;
using AdaptSharp.Evaluation;
using AdaptSharp.Runtime;
using AdaptSharp.Tests.Data;

namespace AdaptSharp.Tests.Runtime;

/// <summary>
/// A thread count chosen per attack step never changes a result: the mini demo (three tunings, whose inner attacks run at
/// the chosen count and whose parameter steps at the configured one, then PGD, AutoAttack and the checklist) gives the same
/// prompt files and flags with the count switching at every step, and the steps at two threads in lanes, as at a fixed 2
/// threads. (The adaptive rule switches
/// less often, at times it measures; an `adapt eval` with AutoAttack was checked the same way by hand: docs/performance.md.)
/// </summary>
public sealed class AdaptiveThreadsTests
{
    [FashionMnistFact]
    public void SwitchingTheCountBetweenAttackStepsGivesTheFixedCountsBits()
    {
        var root = Directory.CreateTempSubdirectory("adapt-threads-").FullName;
        try
        {
            var outputs = new Dictionary<string, string>();
            foreach (var policy in new[] { "fixed", "alternate" })
            {
                var (code, output) = RunDemo(policy, Path.Combine(root, policy));
                Assert.True(code == 0, output);
                outputs[policy] = output;
            }
            Assert.DoesNotContain("threads:", outputs["fixed"]);
            // the check before the first chosen count passed here, so the counts really alternated
            Assert.DoesNotContain("results depend on the count", outputs["alternate"]);
            Assert.Matches(@"alternate threads: [\d,]+ steps at [12], [\d,]+ steps at [12]", outputs["alternate"]);
            // and at two, the attack steps and queries ran in lanes (on the AVX-512 kernels their rows do not depend on the slice)
            if (Avx512Gemm.Supported)
                Assert.Matches(@"\([\d,]+ in lanes\)", outputs["alternate"]);

            var fixedDir = Path.Combine(root, "fixed");
            var files = Directory.GetFiles(fixedDir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(fixedDir, f))
                .Where(f => f.StartsWith("prompts", StringComparison.Ordinal) || f.EndsWith(ReportWriter.FlagsFile, StringComparison.Ordinal))
                .Order().ToList();
            Assert.Equal(3 + 6, files.Count);
            foreach (var f in files)
                Assert.True(File.ReadAllBytes(Path.Combine(fixedDir, f)).SequenceEqual(File.ReadAllBytes(Path.Combine(root, "alternate", f))),
                    $"{f} differs from the fixed count's");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void APolicyIsOneOfThree()
    {
        Assert.Equal(ThreadPolicy.Adaptive, AdaptiveThreads.ParsePolicy(null));
        Assert.Equal(ThreadPolicy.Adaptive, AdaptiveThreads.ParsePolicy(""));
        Assert.Equal(ThreadPolicy.Fixed, AdaptiveThreads.ParsePolicy(" Fixed "));
        Assert.Equal(ThreadPolicy.Alternate, AdaptiveThreads.ParsePolicy("alternate"));
        Assert.Contains("expected adaptive, fixed or alternate", Assert.Throws<ArgumentException>(() => AdaptiveThreads.ParsePolicy("fast")).Message);
    }

    private static (int Code, string Output) RunDemo(string policy, string outDir)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "adapt.dll"), "demo", "--plan", "mini", "--out", outDir, "--device", "cpu", "--jobs", "1" })
            start.ArgumentList.Add(a);
        start.Environment["ADAPT_THREADS"] = 2.ToString(CultureInfo.InvariantCulture);
        start.Environment[AdaptiveThreads.Variable] = policy;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
