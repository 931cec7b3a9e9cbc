using System.Diagnostics;
using System.Runtime.InteropServices;
using Spectre.Console;

namespace AdaptSharp.Cli;

/// <summary>
/// Runs independent units of a command (the demo's runs) as child `adapt` processes, a few at a time, each with its
/// share of the torch threads. Small models gain only 1.3-1.5x from a second intra-op thread, so two one-thread runs
/// side by side finish sooner than one after another (measured in docs/demo.md, "Where the seconds go").
/// Each child gets its own session (setsid): a terminal Ctrl-C reaches only this process, which forwards the signal
/// exactly once, so every child saves its state after the current batch as a direct `adapt` run would. Output lines
/// are relayed with the unit's name and kept in <c>LOGDIR/ID.log</c>.
/// </summary>
internal static class ParallelRuns
{
    private static readonly string[] Colors = ["cyan", "yellow", "magenta", "green", "blue"];

    /// <summary>
    /// One unit: its id (log name and prefix), the arguments after the `adapt` executable, and the ids of the units that
    /// must have finished before it starts.
    /// </summary>
    public sealed record Unit(string Id, IReadOnlyList<string> Arguments, IReadOnlyList<string> DependsOn);

    /// <summary>
    /// Runs <paramref name="units"/>, at most <paramref name="concurrency"/> at a time, each as soon as a slot is free and its
    /// dependencies have finished (the first such unit in list order), each child with
    /// ADAPT_THREADS=<paramref name="threadsEach"/>. Returns when all finished; throws OperationCanceledException when
    /// interrupted (after the children saved their state) and InvalidOperationException naming the first failed unit.
    /// </summary>
    public static void Run(IReadOnlyList<Unit> units, int concurrency, int threadsEach, string logDirectory, CancellationToken cancellation)
    {
        Directory.CreateDirectory(logDirectory);
        var queue = new List<Unit>(units);
        var finished = new HashSet<string>();
        var started = 0;
        var running = new List<Child>();
        var printLock = new object();
        string? failure = null;
        var forwarded = false;
        try
        {
            while (queue.Count > 0 || running.Count > 0)
            {
                while (failure is null && !cancellation.IsCancellationRequested && running.Count < concurrency
                       && queue.FirstOrDefault(u => u.DependsOn.All(finished.Contains)) is { } unit)
                {
                    queue.Remove(unit);
                    running.Add(Child.Start(unit, threadsEach, Path.Combine(logDirectory, unit.Id + ".log"), Colors[started++ % Colors.Length], printLock));
                }
                if ((cancellation.IsCancellationRequested || failure is not null) && !forwarded)
                {
                    forwarded = true;
                    queue.Clear();
                    running.ForEach(c => c.Signal(Interruption.SignalNumber));
                }
                var done = running.FirstOrDefault(c => c.Process.HasExited);
                if (done is null && running.Count == 0)
                    throw new InvalidOperationException($"units waiting on units that never ran: {string.Join(", ", queue.Select(u => u.Id))}");
                if (done is null)
                {
                    Thread.Sleep(100);
                    continue;
                }
                done.Process.WaitForExit(); // drains the relayed output
                running.Remove(done);
                var code = done.Process.ExitCode;
                done.Dispose();
                if (code == 0)
                {
                    finished.Add(done.Unit.Id);
                    lock (printLock)
                        AnsiConsole.MarkupLine(Markup.Escape($"{done.Unit.Id}: done in {done.Clock.Elapsed.TotalSeconds:0} s"));
                }
                if (code is 130 or 143 && failure is null && !cancellation.IsCancellationRequested)
                    failure = $"run '{done.Unit.Id}' was interrupted (exit {code}); run the same command again to continue";
                else if (code is not 0 and not 130 and not 143 && failure is null)
                    failure = $"run '{done.Unit.Id}' failed (exit {code}): {done.LastError ?? "see its log"}; whole output in {done.LogPath}";
            }
        }
        finally
        {
            foreach (var child in running)
            {
                child.Signal(15); // SIGTERM: the child saves its state and exits
                child.Process.WaitForExit();
                child.Dispose();
            }
        }
        if (failure is not null)
            throw new InvalidOperationException(failure);
        if (cancellation.IsCancellationRequested)
            throw new OperationCanceledException("interrupted: the runs saved their state; run the same command again to continue");
    }

    /// <summary>How this process was started: the `adapt` apphost, or `dotnet adapt.dll`.</summary>
    private static (string FileName, string[] Prefix) SelfCommand()
    {
        var process = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find the running executable");
        return Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? (process, [typeof(ParallelRuns).Assembly.Location])
            : (process, []);
    }

    // .NET can only SIGKILL another process; the children need SIGINT/SIGTERM to save their state.
    [DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    private sealed class Child : IDisposable
    {
        private readonly StreamWriter log;
        private readonly object printLock;
        private readonly string color;

        private Child(Unit unit, Process process, StreamWriter log, string logPath, string color, object printLock)
        {
            Unit = unit;
            Process = process;
            this.log = log;
            LogPath = logPath;
            this.color = color;
            this.printLock = printLock;
        }

        public Unit Unit { get; }

        public Process Process { get; }

        public string LogPath { get; }

        public string? LastError { get; private set; }

        public Stopwatch Clock { get; } = Stopwatch.StartNew();

        public static Child Start(Unit unit, int threads, string logPath, string color, object printLock)
        {
            var (fileName, prefix) = SelfCommand();
            var setsid = File.Exists("/usr/bin/setsid") ? "/usr/bin/setsid" : null;
            var info = new ProcessStartInfo(setsid ?? fileName)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            if (setsid is not null)
                info.ArgumentList.Add(fileName);
            foreach (var a in prefix.Concat(unit.Arguments))
                info.ArgumentList.Add(a);
            info.Environment["ADAPT_THREADS"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
            var process = new Process { StartInfo = info };
            var child = new Child(unit, process, log, logPath, color, printLock);
            process.OutputDataReceived += (_, e) => child.Relay(e.Data, error: false);
            process.ErrorDataReceived += (_, e) => child.Relay(e.Data, error: true);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            lock (printLock)
                AnsiConsole.MarkupLine($"[{color}]{Markup.Escape(unit.Id)}[/]: started with {threads} torch thread(s); log {Markup.Escape(logPath)}");
            return child;
        }

        public void Signal(int signal)
        {
            if (!Process.HasExited)
                _ = Kill(Process.Id, signal);
        }

        private void Relay(string? line, bool error)
        {
            if (line is null)
                return;
            lock (printLock)
            {
                log.WriteLine(line);
                if (error && line.StartsWith("adapt: ", StringComparison.Ordinal))
                    LastError = line["adapt: ".Length..];
                // Redirected output is not wrapped at Spectre's 80 columns: a log reader gets the child's lines whole.
                if (AnsiConsole.Profile.Capabilities.Interactive)
                    AnsiConsole.MarkupLine($"[{color}]{Markup.Escape(Unit.Id),-20}[/] {Markup.Escape(line)}");
                else
                    Console.WriteLine($"{Unit.Id,-20} {line}");
            }
        }

        public void Dispose()
        {
            lock (printLock)
                log.Dispose();
            Process.Dispose();
        }
    }
}
