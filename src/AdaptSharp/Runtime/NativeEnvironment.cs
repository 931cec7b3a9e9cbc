using System.Runtime.InteropServices;

namespace AdaptSharp.Runtime;

/// <summary>
/// Fills variables of the native (libc) environment, which native libraries read when they load; .NET's
/// Environment.SetEnvironmentVariable does not change it on Unix.
/// </summary>
internal static class NativeEnvironment
{
    /// <summary>Sets <paramref name="name"/> in both environments unless it is set already (the user's value wins).</summary>
    public static void SetIfUnset(string name, string value)
    {
        if (Environment.GetEnvironmentVariable(name) is not null || (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()))
            return;
        _ = setenv(name, value, 0);
        Environment.SetEnvironmentVariable(name, value);
    }

    [DllImport("libc", CharSet = CharSet.Ansi, BestFitMapping = false)]
    private static extern int setenv(string name, string value, int overwrite);
}
