using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AdaptSharp.Runtime;

/// <summary>
/// Makes libtorch's OpenMP threads sleep at barriers instead of spinning (OMP_WAIT_POLICY=PASSIVE) unless the user
/// set a policy. With spinning threads, two threads on two cores shared with any other work run many times slower than
/// one (each barrier waits for a thread whose time slice was taken; docs/performance.md). libgomp reads the variable
/// once, when libtorch loads, from the native environment, which .NET's Environment.SetEnvironmentVariable does not
/// change on Unix: hence setenv from libc, in a module initializer that runs before this library's first torch call.
/// </summary>
internal static class OpenMpWaitPolicy
{
    public const string Variable = "OMP_WAIT_POLICY";

    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255", Justification = "Must run before libtorch loads; idempotent and only fills an unset variable.")]
    internal static void SetDefault()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        if (Environment.GetEnvironmentVariable(Variable) is not null) return;
        // overwrite = 0: a value the user exported stays.
        _ = setenv(Variable, "PASSIVE", 0);
        Environment.SetEnvironmentVariable(Variable, "PASSIVE");
    }

    /// <summary>The policy the native environment holds now (what libgomp reads when it loads).</summary>
    public static string? NativeValue() =>
        OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() ? Marshal.PtrToStringUTF8(getenv(Variable)) : null;

    [DllImport("libc", CharSet = CharSet.Ansi, BestFitMapping = false)]
    private static extern int setenv(string name, string value, int overwrite);

    [DllImport("libc", CharSet = CharSet.Ansi, BestFitMapping = false)]
    private static extern IntPtr getenv(string name);
}
