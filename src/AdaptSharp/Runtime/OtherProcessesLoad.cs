using System.Globalization;

namespace AdaptSharp.Runtime;

/// <summary>
/// The CPU time taken from this process's reach between two samples, from Linux's counters: the machine's busy time in
/// /proc/stat minus this process's own in /proc/self/stat, plus the time the hypervisor gave to other machines (steal).
/// <see cref="ThreadCountChooser"/> uses it to tell a load that took a core from step-time noise. Read by hand: no served package exposes these two counters, and reading two short files per
/// attack step costs tens of microseconds.
/// </summary>
internal sealed class OtherProcessesLoad
{
    private readonly string machineFile;
    private readonly string processFile;
    private readonly int cpus;
    private Counters? last;

    /// <param name="machineFile">/proc/stat, or a copy in a test.</param>
    /// <param name="processFile">/proc/self/stat, or a copy in a test.</param>
    public OtherProcessesLoad(string machineFile = "/proc/stat", string processFile = "/proc/self/stat")
    {
        (this.machineFile, this.processFile) = (machineFile, processFile);
        cpus = Math.Max(1, CpuLines(machineFile));
    }

    /// <summary>
    /// Since the previous call: the time others took (other processes' busy time and the hypervisor's steal) and the time
    /// that passed, both in clock ticks of one core (their ratio is how many cores others held); null on the first call or
    /// where the counters are not there. A core another virtual machine holds is as lost to this process's threads as one
    /// another process holds.
    /// </summary>
    public (double OthersTicks, double ElapsedTicks)? Sample()
    {
        var now = Read();
        var previous = last;
        last = now;
        if (now is not { } n || previous is not { } p || n.Total <= p.Total)
            return null;
        var others = (n.Busy - p.Busy) - (n.Own - p.Own) + (n.Steal - p.Steal);
        return (Math.Max(0, others), (n.Total - p.Total) / (double)cpus);
    }

    private Counters? Read()
    {
        try
        {
            // the first line only (the machine-wide one); a missing file is an IOException like any other read failure
            var machine = File.ReadLines(machineFile).FirstOrDefault(l => l.StartsWith("cpu ", StringComparison.Ordinal));
            var process = File.ReadAllText(processFile);
            if (machine is null || process.LastIndexOf(')') is var close && close < 0)
                return null;
            // cpu user nice system idle iowait irq softirq steal ...: busy = user + nice + system + irq + softirq
            var m = machine.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            if (m.Length < 8)
                return null;
            var busy = m[0] + m[1] + m[2] + m[5] + m[6];
            var total = m.Take(8).Sum(); // guest time is already inside user
            // fields after "pid (comm)": state is the 3rd field of the file, utime and stime its 14th and 15th
            var fields = process[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var own = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return new Counters(busy, m[7], total, own);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>The per-core lines ("cpu0", "cpu1", ...) of /proc/stat; 0 where it cannot be read.</summary>
    private static int CpuLines(string path)
    {
        try
        {
            return File.ReadLines(path).Count(l => l.Length > 3 && l.StartsWith("cpu", StringComparison.Ordinal) && char.IsAsciiDigit(l[3]));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private readonly record struct Counters(long Busy, long Steal, long Total, long Own);
}
