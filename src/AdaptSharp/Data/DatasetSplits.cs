namespace AdaptSharp.Data;

/// <summary>Parsing of the --split option.</summary>
internal static class DatasetSplits
{
    /// <summary>Accepts "train", "test" and (as a synonym of test) "val".</summary>
    public static DatasetSplit Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "train" => DatasetSplit.Train,
        "test" or "val" or "validation" => DatasetSplit.Test,
        _ => throw new ArgumentException($"bad split '{text}': expected train or test"),
    };
}
