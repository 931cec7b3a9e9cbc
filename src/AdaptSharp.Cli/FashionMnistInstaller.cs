using System.Diagnostics;
using AdaptSharp.Data;
using AdaptSharp.Demo;

namespace AdaptSharp.Cli;

/// <summary>For the demo and the study: installs Debian's Fashion-MNIST package when it is missing and it can (root, apt-get).</summary>
internal static class FashionMnistInstaller
{
    public static DatasetSpec Ensure(string? directory, Action<string> log)
    {
        if (directory is null && !FashionMnistProvider.IsPresent(DatasetSpec.DefaultFashionMnistDirectory)
            && OperatingSystem.IsLinux() && Environment.UserName == "root" && File.Exists("/usr/bin/apt-get"))
        {
            log($"Fashion-MNIST not found: installing the {FashionMnistProvider.Package} package (apt-get) ...");
            Run("apt-get", "update -qq");
            Run("apt-get", $"install -y -qq {FashionMnistProvider.Package}");
        }
        return FashionMnistProvider.Locate(directory);
    }

    private static void Run(string file, string arguments)
    {
        var info = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            var why = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "no message";
            throw new DatasetException($"'{file} {arguments}' failed with exit code {process.ExitCode}: {why}");
        }
    }
}
