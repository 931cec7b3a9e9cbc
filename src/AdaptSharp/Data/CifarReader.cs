using System.Formats.Tar;

namespace AdaptSharp.Data;

/// <summary>
/// Reads the "binary version" of CIFAR-10 (data_batch_1..5.bin, test_batch.bin; records of
/// 1 label byte + 3072 pixel bytes) and CIFAR-100 (train.bin, test.bin; records of coarse label,
/// fine label, 3072 pixels). Pixels are stored channel-planar R,G,B of 32x32, i.e. already C,H,W.
/// The location may be the extracted folder, its parent, or the downloaded .tar.gz itself.
/// </summary>
public static class CifarReader
{
    public const int ImageBytes = 3 * 32 * 32;

    private static readonly string[] Cifar10Names =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    public static ImageDataset Read(string location, bool cifar100, DatasetSplit split, bool coarseLabels = false)
    {
        var dataFiles = cifar100
            ? [split == DatasetSplit.Train ? "train.bin" : "test.bin"]
            : split == DatasetSplit.Train
                ? Enumerable.Range(1, 5).Select(i => $"data_batch_{i}.bin").ToArray()
                : new[] { "test_batch.bin" };
        var namesFile = cifar100 ? (coarseLabels ? "coarse_label_names.txt" : "fine_label_names.txt") : "batches.meta.txt";

        var files = IsArchive(location)
            ? ReadFromArchive(location, dataFiles, namesFile)
            : ReadFromDirectory(location, cifar100 ? "cifar-100-binary" : "cifar-10-batches-bin", dataFiles, namesFile);

        var recordLength = ImageBytes + (cifar100 ? 2 : 1);
        var total = 0;
        foreach (var name in dataFiles)
        {
            var (source, bytes) = files[name]!.Value;
            if (bytes.Length == 0 || bytes.Length % recordLength != 0)
                throw new DatasetException(
                    $"{source}: wrong length for a CIFAR-{(cifar100 ? 100 : 10)} binary file ({bytes.Length} bytes, not a multiple of the {recordLength}-byte record)");
            total += bytes.Length / recordLength;
        }

        var pixels = new byte[(long)total * ImageBytes];
        var labels = new long[total];
        var n = 0;
        var labelOffset = cifar100 && !coarseLabels ? 1 : 0;
        var maxLabel = cifar100 ? (coarseLabels ? 20 : 100) : 10;
        foreach (var name in dataFiles)
        {
            var (source, bytes) = files[name]!.Value;
            for (var offset = 0; offset < bytes.Length; offset += recordLength, n++)
            {
                var label = bytes[offset + labelOffset];
                if (label >= maxLabel)
                    throw new DatasetException($"{source}: record {offset / recordLength} has label {label}, expected < {maxLabel} (wrong CIFAR variant?)");
                labels[n] = label;
                Buffer.BlockCopy(bytes, offset + recordLength - ImageBytes, pixels, n * ImageBytes, ImageBytes);
            }
        }

        var classNames = ParseNames(files.GetValueOrDefault(namesFile)?.Bytes, maxLabel, cifar100);
        var datasetName = cifar100 ? (coarseLabels ? "cifar100-coarse" : "cifar100") : "cifar10";
        return ImageDataset.FromPixels($"{datasetName}/{split.ToString().ToLowerInvariant()}", pixels, total, 3, 32, 32, labels, classNames);
    }

    private static bool IsArchive(string location) =>
        File.Exists(location) && (location.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase)
                                  || location.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase)
                                  || location.EndsWith(".tar", StringComparison.OrdinalIgnoreCase));

    private static Dictionary<string, (string Source, byte[] Bytes)?> ReadFromDirectory(
        string location, string extractedName, string[] dataFiles, string namesFile)
    {
        if (File.Exists(location))
            throw new DatasetException($"{location}: not a directory or .tar.gz archive");
        if (!Directory.Exists(location))
            throw new DatasetException($"{location}: directory not found");
        var dir = location;
        if (!File.Exists(Path.Combine(dir, dataFiles[0])) && Directory.Exists(Path.Combine(dir, extractedName)))
            dir = Path.Combine(dir, extractedName);
        var result = new Dictionary<string, (string, byte[])?>();
        foreach (var name in dataFiles)
        {
            var path = Path.Combine(dir, name);
            if (!File.Exists(path))
                throw new DatasetException($"{path}: file not found (expected the CIFAR binary version in {dir})");
            result[name] = (path, File.ReadAllBytes(path));
        }
        var namesPath = Path.Combine(dir, namesFile);
        if (File.Exists(namesPath))
            result[namesFile] = (namesPath, File.ReadAllBytes(namesPath));
        return result;
    }

    private static Dictionary<string, (string Source, byte[] Bytes)?> ReadFromArchive(string archive, string[] dataFiles, string namesFile)
    {
        var wanted = new HashSet<string>(dataFiles.Append(namesFile));
        var result = new Dictionary<string, (string, byte[])?>();
        try
        {
            using var file = File.OpenRead(archive);
            using var gzip = GzipData.IsGzip(file) ? GzipData.Open(file, archive) : null;
            using var tar = new TarReader(gzip ?? (Stream)file, leaveOpen: true);
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                    continue;
                var name = Path.GetFileName(entry.Name);
                if (!wanted.Contains(name) || result.ContainsKey(name))
                    continue;
                using var memory = new MemoryStream();
                entry.DataStream.CopyTo(memory);
                result[name] = ($"{archive}:{entry.Name}", memory.ToArray());
            }
            // The tar reader stops at the end-of-archive blocks; the gzip trailer (CRC-32, length) comes after them.
            gzip?.DrainToEnd();
        }
        // TarReader throws several types on malformed headers (seen in fuzzing: OverflowException from a PAX
        // number, ArgumentException from a bad size); every one of them is a bad archive.
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or IOException
                                      or OverflowException or ArgumentException or InvalidOperationException)
        {
            throw new DatasetException($"{archive}: cannot read archive ({e.Message.ReplaceLineEndings(" ")})", e);
        }
        foreach (var name in dataFiles)
            if (!result.ContainsKey(name))
                throw new DatasetException($"{archive}: archive has no {name} (expected the CIFAR binary version)");
        return result;
    }

    private static string[] ParseNames(byte[]? bytes, int count, bool cifar100)
    {
        if (bytes is not null)
        {
            var names = System.Text.Encoding.UTF8.GetString(bytes)
                .Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (names.Length >= count)
                return names.Take(count).ToArray();
        }
        return cifar100 ? Enumerable.Range(0, count).Select(i => $"class_{i}").ToArray() : Cifar10Names;
    }
}
