using System.Diagnostics;
using System.Globalization;
using AdaptSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Bench;

/// <summary>The machine a benchmark ran on, as printed in docs/performance.md.</summary>
public sealed record MachineInfo(string Cpu, int Cores, double MemoryGiB, string LoadAverage, int TorchThreads, string Device,
    string Runtime, string DateUtc)
{
    public static MachineInfo Describe(Device device)
    {
        var cpu = CpuInfo.ModelName("unknown");
        var memory = 0.0;
        if (File.Exists("/proc/meminfo"))
        {
            var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            memory = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0 / 1024.0;
        }
        return new MachineInfo(cpu, Environment.ProcessorCount, Math.Round(memory, 1), LoadNow(), get_num_threads(),
            device.ToString(), $".NET {Environment.Version}, TorchSharp {typeof(torch).Assembly.GetName().Version}",
            DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture));
    }

    /// <summary>The 1/5/15-minute load averages (the machine is shared; numbers under load are slower).</summary>
    public static string LoadNow() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    public override string ToString() =>
        $"{Cpu}, {Cores} cores, {MemoryGiB} GiB, torch threads {TorchThreads}, device {Device}, load {LoadAverage}, {Runtime}, {DateUtc}";
}
