using System.Diagnostics;

namespace AdaptSharp.Tests.Interop;

/// <summary>Runs only where Debian's PyTorch is installed (CI installs python3-torch, so CI always runs it).</summary>
public sealed class PyTorchFactAttribute : FactAttribute
{
    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<bool> Available = new(() =>
    {
        if (!File.Exists(Python)) return false;
        try
        {
            using var p = Process.Start(new ProcessStartInfo(Python, "-c \"import torch, numpy\"") { RedirectStandardError = true, RedirectStandardOutput = true })!;
            p.WaitForExit(60_000);
            return p.ExitCode == 0;
        }
        catch
        {
            return false;
        }
    });

    public PyTorchFactAttribute()
    {
        if (!Available.Value)
            Skip = "needs PyTorch: sudo apt-get install python3-torch";
    }
}
