using System.Diagnostics;
using System.Globalization;
using AdaptSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Bench;

/// <summary>
/// What every performance suite shares: options (--device, --repeats, --quick, --out), the device,
/// timing (median and best of several repeats after a warm-up, synchronising CUDA), resident memory
/// from /proc, and the machine description.
/// </summary>
public sealed class BenchContext
{
    public BenchContext(string[] args)
    {
        Args = args;
        Device = TorchRuntime.ResolveDevice(StringOption("--device", "cpu"));
        Repeats = IntOption("--repeats", 3);
        Quick = args.Contains("--quick");
        OutputDirectory = StringOption("--out", null) ?? DefaultOutputDirectory();
        TorchRuntime.ConfigureThreads(args.Contains("--threads") ? IntOption("--threads", Environment.ProcessorCount) : null);
    }

    public string[] Args { get; }

    public Device Device { get; }

    public int Repeats { get; }

    public bool Quick { get; }

    /// <summary>Where bench JSON and Markdown go: docs/bench of the repository (found upwards from the working directory).</summary>
    public string OutputDirectory { get; }

    public bool IsCuda => Device.type == DeviceType.CUDA;

    public int IntOption(string name, int fallback)
    {
        var i = Array.IndexOf(Args, name);
        return i >= 0 && i + 1 < Args.Length ? int.Parse(Args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    public string? StringOption(string name, string? fallback)
    {
        var i = Array.IndexOf(Args, name);
        return i >= 0 && i + 1 < Args.Length ? Args[i + 1] : fallback;
    }

    public void Synchronize()
    {
        if (IsCuda)
            cuda.synchronize(Device);
    }

    /// <summary>Runs <paramref name="action"/> once to warm up, then <paramref name="repeats"/> times; seconds per run.</summary>
    public Timing Time(Action action, int? repeats = null)
    {
        var n = repeats ?? Repeats;
        action();
        Synchronize();
        var seconds = new double[n];
        for (var i = 0; i < n; i++)
        {
            var watch = Stopwatch.StartNew();
            action();
            Synchronize();
            seconds[i] = watch.Elapsed.TotalSeconds;
        }
        return Timing.From(seconds);
    }

    /// <summary>As <see cref="Time"/>, also returning the peak resident memory during the timed runs (MB).</summary>
    public (Timing Timing, double PeakMb, double BaseMb) TimeWithMemory(Action action, int? repeats = null)
    {
        var baseMb = ResidentMb();
        ResetPeakResident();
        action(); // with Time's own warm-up, the two WarmUpAfterReset asks for
        var timing = Time(action, repeats);
        return (timing, PeakResidentMb(), baseMb);
    }

    /// <summary>
    /// Runs <paramref name="action"/> twice untimed after <see cref="ResetPeakResident"/>: the reset hands glibc's free
    /// heap pages back to the system, and the step right after it faulted them in again (vit-small b8 attack step, one
    /// thread, a throwaway harness at 21:40 UTC: 3.4 s, then 1.3-1.4 s, then 1.0-1.1 s as before the reset). With one
    /// warm-up the perf suite's paired attack-step rows read their median from a second slow run (1,483.6 against
    /// 1,071.5 ms best).
    /// </summary>
    public void WarmUpAfterReset(Action action)
    {
        action();
        action();
        Synchronize();
    }

    /// <summary>Current resident set size (MB) after a .NET GC, so finalisable tensors are gone.</summary>
    public static double ResidentMb()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return ProcStatusKb("VmRSS") / 1024.0;
    }

    /// <summary>Peak resident set size since the last <see cref="ResetPeakResident"/> (MB).</summary>
    public static double PeakResidentMb() => ProcStatusKb("VmHWM") / 1024.0;

    /// <summary>
    /// Resets the kernel's peak-RSS mark (Linux: "5" to /proc/self/clear_refs) to what is live now: first the .NET
    /// collector finalises tensors earlier rows left for it and glibc returns its free heap pages, otherwise a row's
    /// peak would include the memory the rows before it freed but the process still held. A no-op elsewhere.
    /// </summary>
    public static void ResetPeakResident()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        try
        {
            _ = MallocTrim(0);
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException or EntryPointNotFoundException) { }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    private static long ProcStatusKb(string key)
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path))
        {
            using var p = Process.GetCurrentProcess();
            return (key == "VmHWM" ? p.PeakWorkingSet64 : p.WorkingSet64) / 1024;
        }
        foreach (var line in File.ReadLines(path))
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
                return long.Parse(line[(key.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return 0;
    }

    /// <summary>CPU model, cores, memory, load, torch threads and device.</summary>
    public MachineInfo Machine() => MachineInfo.Describe(Device);

    private static string DefaultOutputDirectory()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "src", "AdaptSharp")) && Directory.Exists(Path.Combine(dir.FullName, "bench")))
                return Path.Combine(dir.FullName, "docs", "bench");
        return Path.Combine(Directory.GetCurrentDirectory(), "bench-results");
    }
}
