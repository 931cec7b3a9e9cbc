using System.Diagnostics;
using System.Text.RegularExpressions;

namespace AdaptSharp.IO;

/// <summary>
/// AdaptSharp's temporary files: ".{target file name}.{32 hex digits}.tmp" next to the target, renamed over it when
/// complete. A process killed while writing (SIGKILL, power loss) leaves one behind; the next write of the same target
/// removes those older than the current process (a live writer started after us is never touched).
/// </summary>
internal static partial class StaleTempFiles
{
    /// <summary>A fresh temporary name for <paramref name="target"/>, in its folder.</summary>
    public static string NameFor(string target) =>
        Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");

    /// <summary>True for a file name of our temporary pattern for <paramref name="targetName"/>.</summary>
    public static bool IsTempOf(string fileName, string targetName) =>
        fileName.Length == targetName.Length + 38
        && fileName.StartsWith("." + targetName + ".", StringComparison.Ordinal)
        && TempSuffix().IsMatch(fileName[(targetName.Length + 2)..]);

    /// <summary>Deletes the stale temporary files of <paramref name="target"/>; returns how many were removed.</summary>
    public static int Clean(string target)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(target));
        if (folder is null || !Directory.Exists(folder))
            return 0;
        var name = Path.GetFileName(target);
        var started = ProcessStart.Value;
        var removed = 0;
        try
        {
            foreach (var file in Directory.EnumerateFiles(folder, "." + name + ".*.tmp"))
            {
                if (IsTempOf(Path.GetFileName(file), name) && File.GetLastWriteTimeUtc(file) < started && TryDelete(file))
                    removed++;
            }
        }
        catch (Exception e) when (IsFileSystemError(e))
        {
        }
        return removed;
    }

    /// <summary>Deletes <paramref name="path"/> if it can; false when the file system refused.</summary>
    public static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (IsFileSystemError(e))
        {
            return false;
        }
    }

    /// <summary>The errors a best-effort file operation ignores: I/O failures and missing permissions.</summary>
    public static bool IsFileSystemError(Exception e) => e is IOException or UnauthorizedAccessException;

    private static readonly Lazy<DateTime> ProcessStart = new(() =>
    {
        using var self = Process.GetCurrentProcess();
        return self.StartTime.ToUniversalTime();
    });

    [GeneratedRegex("^[0-9a-f]{32}\\.tmp$")]
    private static partial Regex TempSuffix();
}
