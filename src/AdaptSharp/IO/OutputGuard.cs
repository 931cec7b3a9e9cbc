namespace AdaptSharp.IO;

/// <summary>
/// Checks a command's output before any work is done: it may not be one of the command's own inputs, and an existing
/// file is only replaced when the user says so (--force). Errors are <see cref="IOException"/>s with one line that names
/// the flag and the file.
/// </summary>
internal static class OutputGuard
{
    /// <summary>
    /// Refuses <paramref name="output"/> (given with <paramref name="outputFlag"/>) when it is the same file as one of
    /// <paramref name="inputs"/> (flag, path; null paths ignored), when it is a folder, or when it exists and
    /// <paramref name="overwrite"/> is false.
    /// </summary>
    public static void CheckFile(string output, string outputFlag, IEnumerable<(string Flag, string? Path)> inputs, bool overwrite)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(output);
        RefuseInputs(output, outputFlag, inputs);
        if (Directory.Exists(output))
            throw new IOException($"{outputFlag} {output} is a folder: name a file");
        if (File.Exists(output) && !overwrite)
            throw new IOException($"{outputFlag} {output} already exists: pass --force to overwrite it, or choose another file");
    }

    /// <summary>Refuses an output folder that is an existing file, or that is one of the inputs.</summary>
    public static void CheckFolder(string output, string outputFlag, IEnumerable<(string Flag, string? Path)> inputs)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(output);
        RefuseInputs(output, outputFlag, inputs);
        if (File.Exists(output))
            throw new IOException($"{outputFlag} {output} is a file, and this command writes a folder there: choose another --out");
    }

    /// <summary>Refuses an output that is one of the inputs (the same path once symbolic links are resolved).</summary>
    public static void RefuseInputs(string output, string outputFlag, IEnumerable<(string Flag, string? Path)> inputs)
    {
        var target = Canonical(output);
        foreach (var (flag, path) in inputs)
        {
            if (string.IsNullOrWhiteSpace(path))
                continue;
            if (string.Equals(target, Canonical(path), StringComparison.Ordinal))
                throw new IOException($"{outputFlag} {output} is also the {flag} input: writing it would destroy the input; choose another output");
        }
    }

    /// <summary>The absolute path with symbolic links resolved (for existing files and folders), trailing separators removed.</summary>
    public static string Canonical(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        try
        {
            FileSystemInfo info = Directory.Exists(full) ? new DirectoryInfo(full) : new FileInfo(full);
            if (info.Exists && info.ResolveLinkTarget(returnFinalTarget: true) is { } link)
                return Path.TrimEndingDirectorySeparator(Path.GetFullPath(link.FullName));
            var parent = Path.GetDirectoryName(full);
            if (parent is not null && Directory.Exists(parent) && new DirectoryInfo(parent).ResolveLinkTarget(true) is { } parentLink)
                return Path.Combine(parentLink.FullName, Path.GetFileName(full));
        }
        catch (Exception e) when (StaleTempFiles.IsFileSystemError(e))
        {
        }
        return full;
    }
}
