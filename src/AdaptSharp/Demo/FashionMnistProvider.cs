using System.Diagnostics;
using AdaptSharp.Data;

namespace AdaptSharp.Demo;

/// <summary>Finds Fashion-MNIST; installs the Debian/Ubuntu package when it can (root and apt-get present).</summary>
public static class FashionMnistProvider
{
    public const string Package = "dataset-fashion-mnist";

    private static readonly string[] Files =
        ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];

    public static bool IsPresent(string directory) =>
        Files.All(f => File.Exists(Path.Combine(directory, f)) || File.Exists(Path.Combine(directory, f[..^3])));

    public static DatasetSpec Ensure(string? directory, Action<string> log)
    {
        var dir = directory ?? DatasetSpec.DefaultFashionMnistDirectory;
        if (IsPresent(dir))
            return DatasetSpec.Parse(directory is null ? "fashion-mnist" : $"fashion-mnist:{directory}");
        if (directory is not null)
            throw new DatasetException($"{directory}: no Fashion-MNIST IDX files (train-images-idx3-ubyte.gz, ...) in this folder");
        if (CanInstall())
        {
            log($"Fashion-MNIST not found: installing the {Package} package (apt-get) ...");
            Run("apt-get", "update -qq");
            Run("apt-get", $"install -y -qq {Package}");
            if (IsPresent(dir))
                return DatasetSpec.Parse("fashion-mnist");
        }
        throw new DatasetException(
            $"Fashion-MNIST not found in {dir}: install it with 'sudo apt-get install {Package}', or pass --data DIR with the four IDX files");
    }

    private static bool CanInstall() =>
        OperatingSystem.IsLinux() && Environment.UserName == "root" && File.Exists("/usr/bin/apt-get");

    private static void Run(string file, string arguments)
    {
        var info = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(info)!;
        process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
    }
}
