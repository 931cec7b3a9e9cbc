using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace AdaptSharp.Tests;

/// <summary>
/// Puts every temporary file of a test run (the tests' own and those of the adapt and python processes they start,
/// which inherit TMPDIR) under one folder per test process, deleted when the process exits. Without it each run left
/// a few hundred folders in /tmp, and CI shares its disk with every earlier run on the machine.
/// </summary>
internal static class TestTempRoot
{
    private const string Prefix = "adaptsharp-tests-";

#pragma warning disable CA2255 // a module initializer is the one hook that runs before any test asks for a temp path
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Redirect()
    {
        if (OperatingSystem.IsWindows())
            return;
        var system = Path.GetTempPath();
        RemoveLeftovers(system);
        var root = Path.Combine(system, Prefix + Environment.ProcessId);
        Directory.CreateDirectory(root);
        Environment.SetEnvironmentVariable("TMPDIR", root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(root);
    }

    /// <summary>Folders of earlier test processes that were killed before they could remove their own.</summary>
    private static void RemoveLeftovers(string system)
    {
        foreach (var dir in Directory.GetDirectories(system, Prefix + "*"))
            if (int.TryParse(Path.GetFileName(dir)[Prefix.Length..], out var pid) && !IsRunning(pid))
                TryDelete(dir);
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
