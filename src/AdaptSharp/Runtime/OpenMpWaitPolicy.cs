using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace AdaptSharp.Runtime;

/// <summary>
/// Makes libtorch's OpenMP threads spin only briefly at barriers before sleeping (GOMP_SPINCOUNT=1000 instead of
/// libgomp's 300,000) unless the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT. With the default, two threads on two cores
/// shared with any other work ran many times slower than one (each barrier spun while the thread it waited for had lost
/// its time slice); fully passive waiting (OMP_WAIT_POLICY=PASSIVE) fixes that but halves the speed of small models on
/// an idle machine; 1,000 spins keep the idle speed and the loaded one (measured: docs/performance-intro.md, "Threads").
/// libgomp reads the variables once, when libtorch loads, from the native environment, which .NET's
/// Environment.SetEnvironmentVariable does not change on Unix: hence setenv from libc, in a module initializer that runs
/// before this library's first torch call.
/// </summary>
internal static class OpenMpWaitPolicy
{
    public const string Variable = "OMP_WAIT_POLICY";
    public const string SpinCountVariable = "GOMP_SPINCOUNT";
    public const string SpinCount = "1000";

    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255", Justification = "Must run before libtorch loads; idempotent and only fills an unset variable.")]
    internal static void SetDefault()
    {
        if (Environment.GetEnvironmentVariable(Variable) is null)
            NativeEnvironment.SetIfUnset(SpinCountVariable, SpinCount);
    }
}
