using System.Globalization;
using System.Text.Json;
using AdaptSharp.IO;

namespace AdaptSharp.Runtime;

/// <summary>
/// The GEMM route calibrated on this machine, kept in a small JSON file of the user cache so that every later process
/// on the machine takes the same one. The libraries' sums round differently, so a route that changed between processes
/// (a calibration near the margin going the other way) would make a resumed or sharded run differ in its last bits
/// from one run straight through. One entry per machine and set of libraries (<see cref="MachineKey"/>).
/// </summary>
internal sealed class GemmRouteStore(string path)
{
    /// <summary>The route file in the user cache (<see cref="UserCache"/>).</summary>
    public static GemmRouteStore Default => new(System.IO.Path.Combine(UserCache.Directory, "gemm-route.json"));

    public string Path { get; } = path;

    /// <summary>One stored calibration: the chosen library ("libtorch" for libtorch's own), what was measured and when.</summary>
    public sealed record Entry(string Route, string Measured, string Calibrated);

    /// <summary>
    /// The CPU (its name, and its family and model numbers, which tell apart CPUs a virtual machine names alike: "AMD
    /// EPYC"), its core count, the system libraries as loaded (with the kernels OpenBLAS runs) and what the calibration
    /// times (<see cref="Workload"/>: a choice made on other work is made again). A home folder shared by different
    /// machines (a cluster's) keeps one entry per kind.
    /// </summary>
    public static string MachineKey(IEnumerable<GemmLibrary> libraries) =>
        $"{CpuInfo.ModelName("unknown CPU")} (family {CpuInfo.Field("cpu family")}, model {CpuInfo.Field("model")}), " +
        $"{Environment.ProcessorCount} cores; " +
        string.Join(", ", libraries.Select(l => l.Description)) + $"; {Workload}";

    /// <summary>What <see cref="GemmRouting.Calibrate"/> times (since the routed attention, 2026-11-30).</summary>
    public const string Workload = "MLP products and attention";

    /// <summary>The stored entry for <paramref name="key"/>, or null when there is none or the file cannot be read.</summary>
    public Entry? Load(string key) => ReadAll().GetValueOrDefault(key);

    /// <summary>Stores <paramref name="entry"/> under <paramref name="key"/>; a cache that cannot be written is skipped.</summary>
    public void Save(string key, Entry entry)
    {
        try
        {
            var entries = ReadAll();
            entries[key] = entry;
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
            AtomicFile.WriteAllText(Path, JsonSerializer.Serialize(entries, new JsonSerializerOptions { WriteIndented = true }));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only home: every process calibrates again, as before this store existed.
        }
    }

    /// <summary>Now, as stored in an entry.</summary>
    public static string Now() => DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    private Dictionary<string, Entry> ReadAll()
    {
        try
        {
            return File.Exists(Path) ? JsonSerializer.Deserialize<Dictionary<string, Entry>>(File.ReadAllText(Path)) ?? [] : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return []; // unreadable or damaged: calibrate again and write it anew
        }
    }
}
