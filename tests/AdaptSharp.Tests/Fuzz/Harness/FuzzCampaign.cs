using CsCheck;

namespace AdaptSharp.Fuzzing;

/// <summary>Runs CsCheck over mutated seeds of one target, counting executions and keeping the smallest failing input.</summary>
public static class FuzzCampaign
{
    /// <summary>The input being checked and when it started (for a watchdog that catches true hangs in long runs).</summary>
    public static volatile byte[]? CurrentInput;

    public static long CurrentStartedTicks;

    public sealed record Result(string Target, long Executions, int Failures, string? FirstFailure, byte[]? SmallestFailingInput, TimeSpan Elapsed);

    /// <summary>A fresh folder for the inputs, in memory (/dev/shm) where there is one: each input is a file write.</summary>
    private static string ScratchFolder(string name)
    {
        const string shm = "/dev/shm";
        if (Directory.Exists(shm))
        {
            try
            {
                return Directory.CreateDirectory(Path.Combine(shm, $"adapt-fuzz-{name}-{Guid.NewGuid():N}")).FullName;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return Directory.CreateTempSubdirectory($"adapt-fuzz-{name}-").FullName;
    }

    public static Gen<FuzzCase> Cases(FuzzTarget target) =>
        Gen.Select(
            Gen.Int[0, target.Seeds.Count - 1],
            Gen.Select(Gen.Int[0, Mutation.Kinds - 1], Gen.Int[0, 1 << 20], Gen.Int[0, 255], Gen.Int[0, 1 << 16],
                (kind, position, length, value) => new Mutation(kind, position, length, value)).Array[1, 6],
            Gen.Int[0, 3],
            (seed, mutations, inner) => new FuzzCase(seed, mutations, inner == 0));

    /// <summary>
    /// Checks <paramref name="inputs"/> cases from <paramref name="seed"/> (a CsCheck seed string, or null for a
    /// random one). CsCheck stops at a failure and shrinks it; the smallest failing bytes are returned.
    /// </summary>
    public static Result Run(FuzzTarget target, long inputs, string? seed, Action<string>? log = null)
    {
        var folder = ScratchFolder(target.Name);
        long executions = 0;
        var failures = 0;
        string? first = null;
        byte[]? smallest = null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            Cases(target).Sample(fuzzCase =>
            {
                executions++;
                var bytes = FuzzContract.Materialise(target, fuzzCase);
                CurrentInput = bytes;
                Interlocked.Exchange(ref CurrentStartedTicks, Environment.TickCount64);
                try
                {
                    FuzzContract.Check(target, bytes, folder);
                }
                catch (FuzzViolation v)
                {
                    failures++;
                    first ??= v.Message;
                    if (smallest is null || bytes.Length < smallest.Length)
                        smallest = bytes;
                    throw;
                }
            }, writeLine: log, seed: seed, iter: inputs, threads: 1, print: c => c.ToString());
        }
        catch (Exception e) when (e is not FuzzViolation && failures > 0)
        {
            log?.Invoke(e.Message);
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
        return new Result(target.Name, executions, failures, first, smallest, clock.Elapsed);
    }
}
