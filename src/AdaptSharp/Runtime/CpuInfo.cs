namespace AdaptSharp.Runtime;

/// <summary>Fields of the first processor in /proc/cpuinfo (Linux); empty where the file or the field is absent.</summary>
internal static class CpuInfo
{
    private static readonly Lazy<IReadOnlyList<string>> FirstProcessor = new(() =>
    {
        try
        {
            return File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").TakeWhile(l => l.Length > 0).ToList() : [];
        }
        catch (IOException)
        {
            return [];
        }
    });

    /// <summary>The value of <paramref name="name"/> ("model name", "vendor_id", "flags", ...), or "".</summary>
    public static string Field(string name) =>
        FirstProcessor.Value.FirstOrDefault(l => l.IndexOf(':') is var colon && colon > 0 && l[..colon].Trim() == name) is { } line
            ? line[(line.IndexOf(':') + 1)..].Trim()
            : "";

    /// <summary>The CPU's model name, or <paramref name="unknown"/>.</summary>
    public static string ModelName(string unknown) => Field("model name") is { Length: > 0 } model ? model : unknown;
}
