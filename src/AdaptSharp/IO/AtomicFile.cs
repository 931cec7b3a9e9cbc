using System.Text;

namespace AdaptSharp.IO;

/// <summary>
/// Writes a file so that readers see either the old content or the complete new content:
/// the bytes go to a temporary file in the same folder, which is then renamed over the target.
/// If writing fails, the temporary file is deleted and the target is left untouched.
/// </summary>
internal static class AtomicFile
{
    private const int BufferSize = 1 << 20;

    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(write);
        var target = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(target) ?? throw new ArgumentException($"'{path}' has no parent folder", nameof(path));
        Directory.CreateDirectory(folder);
        StaleTempFiles.Clean(target);
        var temp = StaleTempFiles.NameFor(target);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            StaleTempFiles.TryDelete(temp);
            throw;
        }
    }

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, stream => stream.Write(copy));
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, stream => stream.Write(new UTF8Encoding(false).GetBytes(text)));
}
