using AdaptSharp.Data;

namespace AdaptSharp.Demo;

/// <summary>Finds Fashion-MNIST (the four IDX files) in a folder or in the Debian package's folder.</summary>
internal static class FashionMnistProvider
{
    public const string Package = "dataset-fashion-mnist";

    private static readonly string[] Files =
        ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];

    public static bool IsPresent(string directory) =>
        Files.All(f => File.Exists(Path.Combine(directory, f)) || File.Exists(Path.Combine(directory, f[..^3])));

    /// <summary>The data set in <paramref name="directory"/> (null: the package's folder), or a one-line error saying how to get it.</summary>
    public static DatasetSpec Locate(string? directory)
    {
        var dir = directory ?? DatasetSpec.DefaultFashionMnistDirectory;
        if (IsPresent(dir))
            return DatasetSpec.Parse(directory is null ? "fashion-mnist" : $"fashion-mnist:{directory}");
        throw new DatasetException(directory is not null
            ? $"{directory}: no Fashion-MNIST IDX files (train-images-idx3-ubyte.gz, ...) in this folder"
            : $"Fashion-MNIST not found in {dir}: install it with 'sudo apt-get install {Package}', or pass --data DIR with the four IDX files");
    }
}
