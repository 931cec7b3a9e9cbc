using System.Runtime.InteropServices;

namespace AdaptSharp.Runtime;

/// <summary>A one-line description of the machine, for reports: CPU model, cores, memory, OS, torch threads, and the GEMM library when it is not libtorch.</summary>
internal static class MachineDescription
{
    /// <param name="threads">How the torch threads were used, when not this process's count alone (parallel runs).</param>
    public static string Describe(string? threads = null)
    {
        var cpu = CpuInfo.ModelName("unknown CPU");
        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024);
        var gemm = GemmRouting.RouteIfChosen is { Library: { } library } ? $", large GEMMs on {library.Name}" : "";
        return $"{cpu}, {Environment.ProcessorCount} cores, {memory:0} GiB, {RuntimeInformation.OSDescription}, torch threads {threads ?? TorchSharp.torch.get_num_threads().ToString(System.Globalization.CultureInfo.InvariantCulture)}{gemm}";
    }
}
