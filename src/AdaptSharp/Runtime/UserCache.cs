namespace AdaptSharp.Runtime;

/// <summary>AdaptSharp's per-user cache folder: $XDG_CACHE_HOME/adaptsharp, else ~/.cache/adaptsharp.</summary>
internal static class UserCache
{
    /// <summary>The folder (not created here).</summary>
    public static string Directory =>
        Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "adaptsharp");
}
