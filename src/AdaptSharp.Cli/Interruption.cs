using System.Runtime.InteropServices;

namespace AdaptSharp.Cli;

/// <summary>
/// SIGINT (Ctrl-C) and SIGTERM (what Slurm and Kubernetes send) for the long commands: the first signal cancels
/// <see cref="Token"/>, so the running command finishes its current batch, writes its resumable state and exits with
/// 130 (SIGINT) or 143 (SIGTERM); a second signal terminates at once (every state file is written atomically).
/// </summary>
internal static class Interruption
{
    private static CancellationTokenSource source = new();
    private static PosixSignal? received;

    public static CancellationToken Token => source.Token;

    /// <summary>The conventional exit code: 128 + the signal number.</summary>
    public static int ExitCode => received == PosixSignal.SIGTERM ? 143 : 130;

    /// <summary>The POSIX number of the signal received (SIGINT when cancelled otherwise), to forward to child processes.</summary>
    public static int SignalNumber => ExitCode - 128;

    /// <summary>Listens for SIGINT and SIGTERM until disposed (one command invocation).</summary>
    public static IDisposable Install()
    {
        source = new CancellationTokenSource();
        received = null;
        var registrations = new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM }.Select(s => PosixSignalRegistration.Create(s, OnSignal)).ToList();
        return new Registrations(registrations);
    }

    private static void OnSignal(PosixSignalContext context)
    {
        if (source.IsCancellationRequested)
            return; // the second signal takes its default action
        context.Cancel = true;
        received = context.Signal;
        Console.Error.WriteLine($"adapt: {context.Signal} received: saving resumable state after the current batch (send it again to stop at once)");
        source.Cancel();
    }

    // The source is not disposed: in-process callers (tests run Program.Main side by side) may still hold its
    // token, and a source without timers owns nothing that needs disposing.
    private sealed class Registrations(List<PosixSignalRegistration> registrations) : IDisposable
    {
        public void Dispose() => registrations.ForEach(r => r.Dispose());
    }
}
