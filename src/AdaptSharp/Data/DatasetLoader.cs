namespace AdaptSharp.Data;

/// <summary>Reads a <see cref="DatasetSpec"/> into memory, with the --limit / --subset-seed selection applied.</summary>
public static class DatasetLoader
{
    public static readonly IReadOnlyList<string> FashionMnistClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    public static readonly IReadOnlyList<string> MnistClassNames =
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    /// <summary>
    /// Loads one split. <paramref name="limit"/> alone keeps the first N samples (file order, deterministic);
    /// with <paramref name="subsetSeed"/> it keeps N samples drawn without replacement by
    /// <see cref="DeterministicRandom"/>(subsetSeed), kept in file order. <paramref name="imageSize"/>
    /// resizes ImageFolder images on load (the fixed-size formats are stored as they are).
    /// </summary>
    public static ImageDataset Load(DatasetSpec spec, DatasetSplit split, int? limit = null, long? subsetSeed = null, int? imageSize = null)
    {
        if (limit is < 0) throw new ArgumentException($"--limit must be >= 0, got {limit}");
        if (subsetSeed is not null && limit is null)
            throw new ArgumentException("--subset-seed needs --limit N (the size of the random subset)");

        // Reading only the first N is a shortcut for ImageFolder, where decoding dominates.
        var readLimit = subsetSeed is null ? limit : null;
        var full = spec.Kind switch
        {
            DatasetKind.FashionMnist or DatasetKind.Mnist => ReadIdxDataset(spec, split),
            DatasetKind.Cifar10 => CifarReader.Read(spec.ResolvedPath, cifar100: false, split),
            DatasetKind.Cifar100 => CifarReader.Read(spec.ResolvedPath, cifar100: true, split, spec.CoarseLabels),
            DatasetKind.ImageFolder => ImageFolderReader.Read(spec.ResolvedPath, split, imageSize, readLimit),
            _ => throw new ArgumentOutOfRangeException(nameof(spec)),
        };
        if (limit is not { } n || n >= full.Count)
            return full;

        using (full)
        {
            if (subsetSeed is not { } seed)
                return full.Take(n);
            var chosen = new DeterministicRandom(seed).Permutation(full.Count).Take(n).Select(i => (long)i).Order().ToArray();
            return full.Select(chosen);
        }
    }

    /// <summary>
    /// The fixed evaluation set: the first <paramref name="count"/> test points, resized and channel-matched
    /// to a model's input, as one float [0,1] tensor (N,C,S,S) and int64 labels. The caller owns both.
    /// </summary>
    public static (TorchSharp.torch.Tensor Images, TorchSharp.torch.Tensor Labels) LoadEvaluationSet(
        DatasetSpec spec, int count, int imageSize, int channels, DatasetSplit split = DatasetSplit.Test)
    {
        using var data = Load(spec, split, count, imageSize: imageSize);
        return data.ToTensors(TransformPipeline.ForModel(imageSize, channels));
    }

    /// <summary>As above, on <paramref name="device"/> (moved only when it is not the CPU the data is read on).</summary>
    public static (TorchSharp.torch.Tensor Images, TorchSharp.torch.Tensor Labels) LoadEvaluationSet(
        DatasetSpec spec, int count, int imageSize, int channels, TorchSharp.torch.Device device, DatasetSplit split = DatasetSplit.Test)
    {
        var (images, labels) = LoadEvaluationSet(spec, count, imageSize, channels, split);
        if (images.device == device)
            return (images, labels);
        using (images)
        using (labels)
            return (images.to(device), labels.to(device));
    }

    private static ImageDataset ReadIdxDataset(DatasetSpec spec, DatasetSplit split)
    {
        var dir = spec.ResolvedPath;
        var isFashion = spec.Kind == DatasetKind.FashionMnist;
        if (!Directory.Exists(dir))
        {
            throw new DatasetException(isFashion
                ? $"{dir}: Fashion-MNIST directory not found; install it with 'sudo apt-get install dataset-fashion-mnist' or point at the IDX files with fashion-mnist:DIR"
                : $"{dir}: directory not found");
        }
        var prefix = split == DatasetSplit.Train ? "train" : "t10k";
        var imagesPath = FindIdxFile(dir, $"{prefix}-images-idx3-ubyte", $"{prefix}-images.idx3-ubyte", spec);
        var labelsPath = FindIdxFile(dir, $"{prefix}-labels-idx1-ubyte", $"{prefix}-labels.idx1-ubyte", spec);

        var (pixels, count, height, width) = IdxReader.ReadImages(imagesPath);
        var labelBytes = IdxReader.ReadLabels(labelsPath);
        if (labelBytes.Length != count)
            throw new DatasetException($"{labelsPath}: {labelBytes.Length} labels for {count} images in {imagesPath}");
        var labels = new long[count];
        for (var i = 0; i < count; i++)
        {
            if (labelBytes[i] > 9)
                throw new DatasetException($"{labelsPath}: label {labelBytes[i]} at index {i} is not a digit class 0-9");
            labels[i] = labelBytes[i];
        }
        var classNames = isFashion ? FashionMnistClassNames : MnistClassNames;
        return ImageDataset.FromPixels($"{spec.Name}/{split.ToString().ToLowerInvariant()}", pixels, count, 1, height, width, labels, classNames);
    }

    private static string FindIdxFile(string dir, string name, string altName, DatasetSpec spec)
    {
        foreach (var candidate in new[] { name + ".gz", name, altName + ".gz", altName })
        {
            var path = Path.Combine(dir, candidate);
            if (File.Exists(path)) return path;
        }
        var hint = spec.Kind == DatasetKind.FashionMnist
            ? "; install Fashion-MNIST with 'sudo apt-get install dataset-fashion-mnist' or point at the IDX files with fashion-mnist:DIR"
            : string.Empty;
        throw new DatasetException($"{Path.Combine(dir, name)}[.gz]: file not found{hint}");
    }
}
