using AdaptSharp.Runtime;

namespace AdaptSharp.Tests.Runtime;

/// <summary>The other processes' CPU time from Linux's counters, on files written like /proc/stat and /proc/self/stat.</summary>
public sealed class OtherProcessesLoadTests
{
    private static void Write(string folder, long user, long system, long idle, long steal, long ownUser, long ownSystem)
    {
        // cpu user nice system idle iowait irq softirq steal guest guest_nice, then two per-core lines
        File.WriteAllText(Path.Combine(folder, "stat"),
            $"cpu  {user} 0 {system} {idle} 0 0 0 {steal} 7 0\ncpu0 1 0 0 1 0 0 0 0 0 0\ncpu1 1 0 0 1 0 0 0 0 0 0\nintr 1\n");
        // a process name with spaces and parentheses: the fields are counted from the last ')'
        File.WriteAllText(Path.Combine(folder, "self"),
            $"4242 (adapt (worker) 1) R 1 4242 4242 0 -1 4194304 100 0 0 0 {ownUser} {ownSystem} 0 0 20 0 3 0 100 0 0\n");
    }

    [Fact]
    public void OthersTimeIsTheMachinesBusyTimeMinusThisProcesssPlusSteal()
    {
        var folder = Directory.CreateTempSubdirectory("adapt-load-").FullName;
        try
        {
            var (machine, process) = (Path.Combine(folder, "stat"), Path.Combine(folder, "self"));
            Write(folder, user: 1000, system: 100, idle: 5000, steal: 0, ownUser: 300, ownSystem: 20);
            var load = new OtherProcessesLoad(machine, process);
            Assert.Null(load.Sample()); // nothing to compare with yet
            // 200 ticks pass on two cores (100 each): this process ran 100 of them, another one 80, 20 idle
            Write(folder, user: 1170, system: 110, idle: 5020, steal: 0, ownUser: 390, ownSystem: 30);
            var (others, elapsed) = load.Sample()!.Value;
            Assert.Equal(80, others);
            Assert.Equal(100, elapsed);
            // time the hypervisor gave to other machines is taken from this process too
            Write(folder, user: 1270, system: 110, idle: 5020, steal: 100, ownUser: 490, ownSystem: 30);
            Assert.Equal((100.0, 100.0), load.Sample());
            Assert.Null(new OtherProcessesLoad(Path.Combine(folder, "absent"), process).Sample());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void ItReadsThisMachinesCounters()
    {
        if (!File.Exists("/proc/stat"))
            return; // Linux only; elsewhere the adaptive count goes by step times alone
        var load = new OtherProcessesLoad();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.Null(load.Sample());
        Thread.Sleep(200);
        var (others, elapsed) = load.Sample()!.Value;
        // the time passed in ticks of one core at Linux's 100 per second (the counters tick every 10 ms); others cannot
        // have held more cores than exist
        var expected = 100 * watch.Elapsed.TotalSeconds;
        Assert.InRange(elapsed, 0.5 * expected - 2, 1.5 * expected + 2);
        Assert.InRange(others, 0, elapsed * Environment.ProcessorCount);
    }
}
