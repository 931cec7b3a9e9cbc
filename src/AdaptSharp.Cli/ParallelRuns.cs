using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Spectre.Console;

namespace AdaptSharp.Cli;

/// <summary>
/// Runs independent units of a command (the demo's runs) on a few long-lived `adapt` worker processes
/// (<see cref="UnitWorker"/>), each with its share of the torch threads. Small models gain only 1.3-1.5x from a second
/// intra-op thread, so two one-thread runs side by side finish sooner than one after another (measured in docs/demo.md,
/// "Where the seconds go"). Each worker gets its own session (setsid): a terminal Ctrl-C reaches only this process, which
/// forwards the signal exactly once, so every unit in progress saves its state after the current batch as a direct
/// `adapt` run would. Output lines are relayed with the unit's name and kept in <c>LOGDIR/ID.log</c>.
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
    /// Runs <paramref name="units"/> on at most <paramref name="concurrency"/> workers, each unit as soon as a worker is
    /// free and its dependencies have finished (the first such unit in list order), every worker with
    /// ADAPT_THREADS=<paramref name="threadsEach"/>. Returns when all finished; throws OperationCanceledException when
    /// interrupted (after the units in progress saved their state) and InvalidOperationException naming the first failed unit.
    /// </summary>
    public static void Run(IReadOnlyList<Unit> units, int concurrency, int threadsEach, string logDirectory, CancellationToken cancellation)
    {
        Directory.CreateDirectory(logDirectory);
        var queue = new List<Unit>(units);
        var finished = new HashSet<string>();
        var started = 0;
        var workers = new List<Worker>();
        var printLock = new object();
        string? failure = null;
        var forwarded = false;
        // An idle worker, else a new one while fewer than the concurrency are alive, else none.
        Worker? FreeWorker()
        {
            if (workers.FirstOrDefault(w => w is { Busy: false, Alive: true }) is { } idle)
                return idle;
            if (workers.Count(w => w.Alive) >= concurrency)
                return null;
            var worker = Worker.Start(threadsEach, printLock);
            workers.Add(worker);
            return worker;
        }
        try
        {
            while (queue.Count > 0 || workers.Any(w => w.Busy))
            {
                while (failure is null && !cancellation.IsCancellationRequested
                       && queue.FirstOrDefault(u => u.DependsOn.All(finished.Contains)) is { } unit
                       && FreeWorker() is { } free)
                {
                    queue.Remove(unit);
                    free.Begin(unit, Path.Combine(logDirectory, unit.Id + ".log"), Colors[started++ % Colors.Length]);
                }
                if ((cancellation.IsCancellationRequested || failure is not null) && !forwarded)
                {
                    forwarded = true;
                    queue.Clear();
                    workers.Where(w => w.Busy).ToList().ForEach(w => w.Signal(Interruption.SignalNumber));
                }
                var done = workers.FirstOrDefault(w => w.Busy && w.UnitEnded);
                if (done is null && !workers.Any(w => w.Busy))
                    throw new InvalidOperationException($"units waiting on units that never ran: {string.Join(", ", queue.Select(u => u.Id))}");
                if (done is null)
                {
                    Thread.Sleep(50);
                    continue;
                }
                var (unitDone, code, seconds, lastError, logPath) = done.End();
                if (code == 0)
                {
                    finished.Add(unitDone.Id);
                    lock (printLock)
                        AnsiConsole.MarkupLine(Markup.Escape($"{unitDone.Id}: done in {seconds:0} s"));
                }
                if (code is 130 or 143 && failure is null && !cancellation.IsCancellationRequested)
                    failure = $"run '{unitDone.Id}' was interrupted (exit {code}); run the same command again to continue";
                else if (code is not 0 and not 130 and not 143 && failure is null)
                    failure = $"run '{unitDone.Id}' failed (exit {code}): {lastError ?? "see its log"}; whole output in {logPath}";
            }
        }
        finally
        {
            foreach (var worker in workers)
            {
                if (worker.Busy)
                    worker.Signal(15); // SIGTERM: the unit saves its state and the worker exits
                worker.Stop();
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

    // .NET can only SIGKILL another process; the workers need SIGINT/SIGTERM to save their state.
    [DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    /// <summary>
    /// One worker process and the unit it runs. Its output is relayed on thread-pool threads; the unit has ended when
    /// both streams carried the worker's end line, or the process exited.
    /// </summary>
    private sealed class Worker
    {
        private readonly Process process;
        private readonly object printLock;
        private Unit? unit;
        private StreamWriter? log;
        private string logPath = "";
        private string color = "";
        private Stopwatch clock = new();
        private int streamsEnded;
        private int? code;
        private string? lastError;

        private Worker(Process process, object printLock)
        {
            this.process = process;
            this.printLock = printLock;
        }

        public bool Busy => unit is not null;

        public bool Alive => !process.HasExited;

        public bool UnitEnded
        {
            get
            {
                lock (printLock)
                {
                    if (streamsEnded == 2)
                        return true;
                }
                if (!process.HasExited)
                    return false;
                process.WaitForExit(); // drains the relayed output
                lock (printLock)
                {
                    code ??= process.ExitCode;
                    return true;
                }
            }
        }

        public static Worker Start(int threads, object printLock)
        {
            var (fileName, prefix) = SelfCommand();
            var setsid = File.Exists("/usr/bin/setsid") ? "/usr/bin/setsid" : null;
            var info = new ProcessStartInfo(setsid ?? fileName)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            if (setsid is not null)
                info.ArgumentList.Add(fileName);
            foreach (var a in prefix.Append(UnitWorker.Argument))
                info.ArgumentList.Add(a);
            info.Environment["ADAPT_THREADS"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var process = new Process { StartInfo = info };
            var worker = new Worker(process, printLock);
            process.OutputDataReceived += (_, e) => worker.Relay(e.Data, error: false);
            process.ErrorDataReceived += (_, e) => worker.Relay(e.Data, error: true);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return worker;
        }

        public void Begin(Unit next, string path, string unitColor)
        {
            lock (printLock)
            {
                unit = next;
                logPath = path;
                color = unitColor;
                log = new StreamWriter(path, append: true) { AutoFlush = true };
                streamsEnded = 0;
                code = null;
                lastError = null;
                clock = Stopwatch.StartNew();
                AnsiConsole.MarkupLine($"[{color}]{Markup.Escape(next.Id)}[/]: started with {process.StartInfo.Environment["ADAPT_THREADS"]} torch thread(s); log {Markup.Escape(path)}");
            }
            process.StandardInput.WriteLine(JsonSerializer.Serialize(next.Arguments));
            process.StandardInput.Flush();
        }

        /// <summary>Closes the unit that ended: what it was, its exit code, seconds, last `adapt:` error line and log.</summary>
        public (Unit Unit, int Code, double Seconds, string? LastError, string LogPath) End()
        {
            lock (printLock)
            {
                var ended = (unit!, code ?? 1, clock.Elapsed.TotalSeconds, lastError, logPath);
                log?.Dispose();
                log = null;
                unit = null;
                return ended;
            }
        }

        public void Signal(int signal)
        {
            if (!process.HasExited)
                _ = Kill(process.Id, signal);
        }

        /// <summary>Ends the worker: no more units (end of its input), then waits for it to exit.</summary>
        public void Stop()
        {
            try
            {
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // the worker is gone already
            }
            process.WaitForExit();
            lock (printLock)
                log?.Dispose();
            process.Dispose();
        }

        private void Relay(string? line, bool error)
        {
            if (line is null)
                return;
            lock (printLock)
            {
                if (UnitWorker.ExitCodeOf(line) is { } exit)
                {
                    code = exit;
                    streamsEnded++;
                    return;
                }
                if (unit is null)
                    return;
                log?.WriteLine(line);
                if (error && line.StartsWith("adapt: ", StringComparison.Ordinal))
                    lastError = line["adapt: ".Length..];
                // Redirected output is not wrapped at Spectre's 80 columns: a log reader gets the child's lines whole.
                if (AnsiConsole.Profile.Capabilities.Interactive)
                    AnsiConsole.MarkupLine($"[{color}]{Markup.Escape(unit.Id),-20}[/] {Markup.Escape(line)}");
                else
                    Console.WriteLine($"{unit.Id,-20} {line}");
            }
        }
    }
}
