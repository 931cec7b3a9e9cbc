using AdaptSharp.Data;

namespace AdaptSharp.Tests.Data;

/// <summary>A fact that runs only where the dataset-fashion-mnist package is installed (CI installs it).</summary>
public sealed class FashionMnistFactAttribute : FactAttribute
{
    public FashionMnistFactAttribute()
    {
        if (!File.Exists(Path.Combine(DatasetSpec.DefaultFashionMnistDirectory, "train-images-idx3-ubyte.gz")))
            Skip = "Fashion-MNIST not installed (sudo apt-get install dataset-fashion-mnist)";
    }
}
