namespace AdaptSharp.Runtime;

/// <summary>
/// Error messages quote bytes from the user's files (tensor names, tar entry names, dtypes); escaping control and
/// line-separator characters keeps every such message on one line, as the CLI prints it.
/// </summary>
internal static class OneLineText
{
    public static string Escape(string text)
    {
        if (!text.Any(NeedsEscape))
            return text;
        var builder = new System.Text.StringBuilder(text.Length + 16);
        foreach (var c in text)
            builder.Append(NeedsEscape(c) ? $"\\u{(int)c:x4}" : c);
        return builder.ToString();
    }

    private static bool NeedsEscape(char c) => char.IsControl(c) || c is '\u2028' or '\u2029';
}
