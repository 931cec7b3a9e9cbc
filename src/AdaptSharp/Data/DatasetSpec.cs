namespace AdaptSharp.Data;

/// <summary>
/// Which dataset to read, as written on the command line:
/// <c>fashion-mnist[:DIR]</c>, <c>mnist:DIR</c>, <c>cifar10:DIR|FILE.tar.gz</c>,
/// <c>cifar100:DIR|FILE.tar.gz</c> (fine labels), <c>cifar100-coarse:DIR|FILE.tar.gz</c>
/// (the 20 superclasses) and <c>imagefolder:DIR</c>.
/// </summary>
public sealed record DatasetSpec(DatasetKind Kind, string? Path, bool CoarseLabels = false)
{
    /// <summary>Where the Debian/Ubuntu package <c>dataset-fashion-mnist</c> installs the IDX files.</summary>
    public const string DefaultFashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

    public static DatasetSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        var colon = trimmed.IndexOf(':');
        var name = (colon < 0 ? trimmed : trimmed[..colon]).ToLowerInvariant();
        var path = colon < 0 ? null : trimmed[(colon + 1)..];
        if (path is { Length: 0 }) path = null;

        var spec = name switch
        {
            "fashion-mnist" or "fashionmnist" or "fmnist" => new DatasetSpec(DatasetKind.FashionMnist, path),
            "mnist" => new DatasetSpec(DatasetKind.Mnist, path),
            "cifar10" or "cifar-10" => new DatasetSpec(DatasetKind.Cifar10, path),
            "cifar100" or "cifar-100" => new DatasetSpec(DatasetKind.Cifar100, path),
            "cifar100-coarse" or "cifar-100-coarse" => new DatasetSpec(DatasetKind.Cifar100, path, CoarseLabels: true),
            "imagefolder" or "folder" => new DatasetSpec(DatasetKind.ImageFolder, path),
            _ => throw new ArgumentException(
                $"bad dataset '{text}': expected fashion-mnist[:DIR], mnist:DIR, cifar10:DIR, cifar100:DIR, cifar100-coarse:DIR or imagefolder:DIR"),
        };
        if (spec.Kind != DatasetKind.FashionMnist && spec.Path is null)
            throw new ArgumentException($"bad dataset '{text}': {name} needs a location, e.g. {name}:/path/to/{name}");
        return spec;
    }

    /// <summary>The directory or archive actually read (Fashion-MNIST defaults to the Debian package's location).</summary>
    public string ResolvedPath => Path ?? DefaultFashionMnistDirectory;

    /// <summary>Short dataset name for reports: fashion-mnist, mnist, cifar10, cifar100, cifar100-coarse, imagefolder.</summary>
    public string Name => Kind switch
    {
        DatasetKind.FashionMnist => "fashion-mnist",
        DatasetKind.Mnist => "mnist",
        DatasetKind.Cifar10 => "cifar10",
        DatasetKind.Cifar100 => CoarseLabels ? "cifar100-coarse" : "cifar100",
        DatasetKind.ImageFolder => "imagefolder",
        _ => Kind.ToString(),
    };

    /// <summary>
    /// Whether random horizontal flips keep the label's meaning. Off for MNIST (a mirrored digit is
    /// not a digit, and 2/5 or 6/9-like confusions appear); on for Fashion-MNIST (garments, shoes and
    /// bags are mirror-symmetric classes), CIFAR and natural-image folders, as in the paper.
    /// </summary>
    public bool FlipPreservesLabel => Kind != DatasetKind.Mnist;

    public override string ToString() => Path is null ? Name : $"{Name}:{Path}";
}
