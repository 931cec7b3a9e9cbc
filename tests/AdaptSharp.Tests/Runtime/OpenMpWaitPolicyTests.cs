using System.Diagnostics;
using System.Runtime.CompilerServices;
using AdaptSharp.Runtime;

namespace AdaptSharp.Tests.Runtime;

public sealed class OpenMpWaitPolicyTests
{
    /// <summary>
    /// libgomp itself reports what it parsed when libtorch loaded (OMP_DISPLAY_ENV=verbose). It displays an unset policy
    /// as 'PASSIVE' but spins 300,000 times before sleeping; AdaptSharp makes that 1,000 unless the user chose.
    /// </summary>
    [Theory]
    [InlineData(null, "OMP_WAIT_POLICY = 'PASSIVE'", "GOMP_SPINCOUNT = '1000'")]
    [InlineData("ACTIVE", "OMP_WAIT_POLICY = 'ACTIVE'", "OMP_WAIT_POLICY = 'ACTIVE'")]
    public async Task TheAdaptCommandsOpenMpRuntimeSpinsBrieflyUnlessTheUserChoseAPolicy(string? userPolicy, string expected, string alsoExpected)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "adapt.dll"), "info", "--model", "vit-tiny-patch16" })
            start.ArgumentList.Add(a);
        start.Environment.Remove(OpenMpWaitPolicy.Variable);
        start.Environment.Remove(OpenMpWaitPolicy.SpinCountVariable);
        if (userPolicy is not null) start.Environment[OpenMpWaitPolicy.Variable] = userPolicy;
        start.Environment["OMP_DISPLAY_ENV"] = "verbose";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        Assert.Equal(0, process.ExitCode);
        var display = await stdout + await stderr;
        Assert.Contains("OPENMP DISPLAY ENVIRONMENT BEGIN", display);
        Assert.Contains(expected, display);
        Assert.Contains(alsoExpected, display);
    }
}

/// <summary>The tests call libtorch before the library at times: set the policy before anything loads it.</summary>
internal static class TestAssemblyInitializer
{
    [ModuleInitializer]
    internal static void SetOpenMpWaitPolicy() => OpenMpWaitPolicy.SetDefault();

    /// <summary>
    /// Tests run side by side in one process and libtorch's thread count (MKL's) is process-wide, so commands run
    /// in-process keep a fixed count; child processes inherit that unless a test sets the policy (AdaptiveThreadsTests).
    /// </summary>
    [ModuleInitializer]
    internal static void FixThreadCount() => Environment.SetEnvironmentVariable(AdaptiveThreads.Variable, "fixed");
}
