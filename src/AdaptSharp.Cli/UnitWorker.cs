using System.Globalization;
using System.Text.Json;

namespace AdaptSharp.Cli;

/// <summary>
/// The worker side of <see cref="ParallelRuns"/>: one long-lived `adapt` process that runs the units its parent sends,
/// one after another, each as its own command invocation (exactly what a separate `adapt` process would run). Starting
/// a process per unit cost about 1.1 s each (the .NET runtime, loading libtorch, JIT), most of a short unit's overhead.
/// Protocol: the parent writes one JSON array of arguments per line on stdin; after each unit the worker writes
/// <see cref="DoneMarker"/> and the exit code as a line on stdout and on stderr (so the parent knows both streams of
/// that unit are drained); it stops at the end of stdin, or after an interrupted unit.
/// </summary>
internal static class UnitWorker
{
    /// <summary>The only argument that starts `adapt` as a worker (not a command: it is not meant to be typed).</summary>
    public const string Argument = "--unit-worker";

    /// <summary>Begins the line that ends a unit's output; a unit's own output never starts with this control character.</summary>
    public const string DoneMarker = "\u001eadapt-unit-done ";

    public static int Serve(TextReader input, TextWriter output, TextWriter error)
    {
        while (input.ReadLine() is { } line)
        {
            string[] args;
            try
            {
                args = JsonSerializer.Deserialize<string[]>(line) ?? [];
            }
            catch (JsonException)
            {
                error.WriteLine($"adapt: {Argument}: expected one JSON array of arguments per line, got: {line}");
                return CliRunner.UserError;
            }
            var code = CliRunner.Run(Program.CreateRoot(), args);
            var done = DoneMarker + code.ToString(CultureInfo.InvariantCulture);
            output.WriteLine(done);
            output.Flush();
            error.WriteLine(done);
            error.Flush();
            if (Interruption.Token.IsCancellationRequested)
                return code; // the unit saved its state; the parent sends no more
        }
        return 0;
    }

    /// <summary>The exit code in a line that ends a unit, or null for any other line.</summary>
    public static int? ExitCodeOf(string line) =>
        line.StartsWith(DoneMarker, StringComparison.Ordinal)
        && int.TryParse(line.AsSpan(DoneMarker.Length), NumberStyles.Integer, CultureInfo.InvariantCulture, out var code)
            ? code
            : null;
}
