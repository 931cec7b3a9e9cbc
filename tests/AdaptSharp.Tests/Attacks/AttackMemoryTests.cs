using AdaptSharp.Attacks;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Attacks;

/// <summary>Resident memory is process-wide: measured with no other test running (see <see cref="SerialCollection"/>).</summary>
[Collection(SerialCollection.Name)]
public class AttackMemoryTests
{
    [Fact]
    public void PgdKeepsMemoryFlatOver200Steps()
    {
        var threat = ThreatModel.LInf(0.03);
        var model = TinyModels.Mlp(3 * 16 * 16, 32, 10, seed: 101);
        using var x = TinyModels.Images(32, new long[] { 3, 16, 16 }, seed: 102);
        using var y = TinyModels.Predict(model, x);
        var pgd = new Pgd(threat, new PgdOptions(20), seed: 1);
        long Rss()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            using var p = System.Diagnostics.Process.GetCurrentProcess();
            p.Refresh();
            return p.WorkingSet64;
        }
        for (var i = 0; i < 3; i++)
        {
            using var warm = NewDisposeScope();
            pgd.Perturb(model, x, y);
        }
        var before = Rss();
        for (var i = 0; i < 10; i++)
        {
            using var s = NewDisposeScope();
            pgd.Perturb(model, x, y);
        }
        var growth = Rss() - before;
        // 200 steps allocate ~100 MB of tensors in total; flat means little of that stays
        Assert.True(growth < 24L << 20, $"resident memory grew by {growth >> 20} MiB");
    }
}
