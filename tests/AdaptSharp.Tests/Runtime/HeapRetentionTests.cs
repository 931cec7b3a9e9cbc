using System.Runtime.InteropServices;
using AdaptSharp.Runtime;

namespace AdaptSharp.Tests.Runtime;

public sealed class HeapRetentionTests
{
    [Fact]
    public void TheUsersMallocSettingsWin()
    {
        Assert.False(HeapRetention.UserChose(_ => null));
        Assert.True(HeapRetention.UserChose(name => name == "MALLOC_TRIM_THRESHOLD_" ? "0" : null));
        Assert.True(HeapRetention.UserChose(name => name == "MALLOC_MMAP_THRESHOLD_" ? "65536" : null));
        Assert.True(HeapRetention.UserChose(name => name == "GLIBC_TUNABLES" ? "glibc.malloc.trim_threshold=0" : null));
        // Tunables of other parts of glibc are not a malloc choice.
        Assert.False(HeapRetention.UserChose(name => name == "GLIBC_TUNABLES" ? "glibc.cpu.hwcaps=-AVX512F" : null));
    }

    /// <summary>
    /// What the policy is for: a block freed and allocated again (as every training or attack step does with its
    /// activations) comes back without the system faulting its pages in again. With glibc's defaults a 24 MiB block is
    /// handed back to the system at free and every page of the next one faults; with the policy none should.
    /// </summary>
    [Fact]
    public void AFreedBlockIsReusedWithoutPageFaults()
    {
        if (!OperatingSystem.IsLinux() || !HeapRetention.Use(retain: false))
            return; // no glibc malloc here: nothing to retain
        const int size = 24 << 20;
        var pages = size / Environment.SystemPageSize;
        try
        {
            var withDefaults = FaultsOnReuseOfAFreshMapping(size);
            Assert.True(HeapRetention.Use(retain: true));
            var retained = FaultsOnReuse(size);
            Assert.True(withDefaults >= 10, $"glibc's defaults: {withDefaults} faults on {pages} pages");
            Assert.True(retained <= pages / 50, $"retained: {retained} faults on {pages} pages (glibc's defaults: {withDefaults})");
        }
        finally
        {
            // Leave the process as the library's initializer left it.
            HeapRetention.Use(retain: HeapRetention.Applied);
        }
    }

    /// <summary>
    /// glibc maps a block this large afresh (and unmaps it at free) only when no free chunk of this thread's arena can
    /// hold it; earlier tests of this process, run under the retention policy, may have left such chunks (a CI run
    /// measured 0 faults "with glibc's defaults" that way). Holding every chunk malloc serves from the heap until it maps
    /// one puts the arena where a fresh process's is. glibc has no query for "would this block be mapped", hence the
    /// IS_MMAPPED bit of its chunk header (the size word before the block, unchanged since glibc 2.0).
    /// </summary>
    private static long FaultsOnReuseOfAFreshMapping(int size)
    {
        var held = new List<IntPtr>();
        try
        {
            while (held.Count < 1024)
            {
                var block = Marshal.AllocHGlobal(size);
                if ((Marshal.ReadInt64(block, -8) & 2) != 0)
                {
                    Marshal.FreeHGlobal(block);
                    break;
                }
                held.Add(block);
            }
            return FaultsOnReuse(size);
        }
        finally
        {
            foreach (var block in held)
                Marshal.FreeHGlobal(block);
        }
    }

    private static long FaultsOnReuse(int size)
    {
        // Marshal.AllocHGlobal is malloc on Unix.
        var first = Marshal.AllocHGlobal(size);
        Touch(first, size);
        Marshal.FreeHGlobal(first);
        var before = ThreadMinorFaults();
        var second = Marshal.AllocHGlobal(size);
        Touch(second, size);
        var faults = ThreadMinorFaults() - before;
        Marshal.FreeHGlobal(second);
        return faults;
    }

    private static void Touch(IntPtr block, int size)
    {
        for (var i = 0; i < size; i += 4096)
            Marshal.WriteByte(block, i, 1);
    }

    /// <summary>getrusage(RUSAGE_THREAD): this thread's minor page faults (other tests run beside this one).</summary>
    private static long ThreadMinorFaults()
    {
        var usage = new long[18];
        Assert.Equal(0, getrusage(1, usage));
        return usage[8]; // ru_minflt, after ru_utime and ru_stime (two longs each) and ru_maxrss, ru_ixrss, ru_idrss, ru_isrss
    }

    [DllImport("libc")]
    private static extern int getrusage(int who, [Out] long[] usage);
}
