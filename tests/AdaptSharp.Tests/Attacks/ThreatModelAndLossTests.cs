using AdaptSharp.Attacks;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Attacks;

public class ThreatModelAndLossTests
{
    [Theory]
    [InlineData("8/255", 8.0 / 255)]
    [InlineData("0.1", 0.1)]
    [InlineData(" 0.5 ", 0.5)]
    [InlineData("1e-2", 0.01)]
    public void ParsesEpsNumbersAndFractions(string text, double expected) =>
        Assert.Equal(expected, ThreatModel.ParseEps(text), 12);

    [Theory]
    [InlineData("8/0")]
    [InlineData("abc")]
    [InlineData("-0.1")]
    [InlineData("/255")]
    public void RejectsBadEps(string text) => Assert.Throws<ArgumentException>(() => ThreatModel.ParseEps(text));

    [Fact]
    public void LInfProjectionClipsToBallAndBox()
    {
        using var scope = NewDisposeScope();
        var threat = ThreatModel.LInf(0.1);
        var clean = tensor(new float[] { 0.05f, 0.5f, 0.95f, 0.5f }).reshape(1, 4);
        var adv = tensor(new float[] { -0.5f, 0.9f, 1.5f, 0.45f }).reshape(1, 4);
        var p = threat.Project(adv, clean).data<float>().ToArray();
        Assert.Equal(new[] { 0f, 0.6f, 1f, 0.45f }, p, new FloatComparer(1e-6f));
        Assert.True(threat.Validate(threat.Project(adv, clean), clean) <= 0.1 + 1e-6);
    }

    [Fact]
    public void L2ProjectionScalesOntoSphere()
    {
        using var scope = NewDisposeScope();
        var threat = ThreatModel.L2(0.5);
        var clean = full(new long[] { 2, 1, 3, 3 }, 0.5f);
        var adv = clean + randn(2, 1, 3, 3) * 0.3;
        var p = threat.Project(adv, clean);
        var norms = threat.Norms(p, clean).data<float>().ToArray();
        Assert.All(norms, n => Assert.True(n <= 0.5 + 1e-6));
        Assert.True(p.min().ToDouble() >= 0 && p.max().ToDouble() <= 1);
    }

    [Fact]
    public void ValidateRejectsPointsOutsideBallOrBox()
    {
        using var scope = NewDisposeScope();
        var threat = ThreatModel.LInf(0.1);
        var clean = full(new long[] { 1, 4 }, 0.5f);
        Assert.Throws<ThreatModelViolationException>(() => threat.Validate(clean + 0.2, clean));
        Assert.Throws<ThreatModelViolationException>(() => threat.Validate(clean * 3, clean * 3 - 0.01));
        Assert.Throws<ThreatModelViolationException>(() => threat.Validate(clean.reshape(2, 2), clean));
        Assert.Equal(0.1, threat.Validate(clean + 0.1, clean), 6);
    }

    [Fact]
    public void DlrMatchesHandComputedValue()
    {
        using var scope = NewDisposeScope();
        // sorted: 5 (i=2), 3 (i=0), 1 (i=3), -2 (i=1)
        var z = tensor(new float[] { 3, -2, 5, 1, 0, 0, 0, 0 }).reshape(2, 4);
        z[1] = tensor(new float[] { 1, 4, 2, 0 });
        var y = tensor(new long[] { 0, 1 });
        var dlr = Losses.Dlr(z, y).data<float>().ToArray();
        // row 0: y=0 (3), max other 5 -> -(3-5)/(5-1) = 0.5
        // row 1: y=1 (4) is the max, max other 2 -> -(4-2)/(4-1) = -2/3
        Assert.Equal(0.5f, dlr[0], 5);
        Assert.Equal(-2f / 3f, dlr[1], 5);
    }

    [Fact]
    public void TargetedDlrMatchesHandComputedValue()
    {
        using var scope = NewDisposeScope();
        var z = tensor(new float[] { 3, -2, 5, 1, 0.5f }).reshape(1, 5);
        var y = tensor(new long[] { 0 });
        var t = tensor(new long[] { 3 });
        // sorted 5, 3, 1, 0.5, -2 -> -(3 - 1) / (5 - (1 + 0.5)/2) = -2 / 4.25
        Assert.Equal(-2f / 4.25f, Losses.TargetedDlr(z, y, t).item<float>(), 5);
    }

    [Fact]
    public void CwLossIsNegativeMarginFlooredAtKappa()
    {
        using var scope = NewDisposeScope();
        var z = tensor(new float[] { 2, 1, 0, -30, 0, 0 }).reshape(2, 3);
        var y = tensor(new long[] { 0, 0 });
        var loss = Losses.CwLoss(z, y).data<float>().ToArray();
        Assert.Equal(-1f, loss[0], 5);   // margin 2-1 = 1
        Assert.Equal(10f, loss[1], 5);   // margin -30 floored at -10
        Assert.Equal(30f, Losses.CwLoss(z, y, double.PositiveInfinity).data<float>()[1], 5);
    }

    [Fact]
    public void KlIsZeroForEqualLogitsAndPositiveOtherwise()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new float[] { 1, 2, 3, 0, 0, 0 }).reshape(2, 3);
        var b = tensor(new float[] { 1, 2, 3, 3, 0, 0 }).reshape(2, 3);
        var kl = Losses.KlPerSample(a, b).data<float>().ToArray();
        Assert.Equal(0f, kl[0], 6);
        // p = uniform, q = softmax(3,0,0)
        var q = new[] { Math.Exp(3), 1.0, 1.0 };
        var s = q.Sum();
        var expected = q.Sum(qi => 1.0 / 3 * Math.Log(1.0 / 3 / (qi / s)));
        Assert.Equal((float)expected, kl[1], 5);
        Assert.Equal((float)(expected / 2), Losses.KlBatchMean(a, b).item<float>(), 5);
    }

    private sealed class FloatComparer(float tol) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tol;
        public int GetHashCode(float obj) => 0;
    }
}

public class AttackRandomTests
{
    [Fact]
    public void SameSeedSameNumbersDifferentSeedDifferentNumbers()
    {
        using var scope = NewDisposeScope();
        var like = zeros(4, 5);
        using var a = new AttackRandom(3);
        using var b = new AttackRandom(3);
        using var c = new AttackRandom(4);
        var ua = a.Uniform(like, -1, 1);
        manual_seed(123); rand(10);
        var ub = b.Uniform(like, -1, 1);
        var uc = c.Uniform(like, -1, 1);
        Assert.Equal(0.0, (ua - ub).abs().max().ToDouble());
        Assert.True((ua - uc).abs().max().ToDouble() > 0);
        Assert.Equal(a.Signs(new long[] { 50 }, like).data<float>().ToArray(), b.Signs(new long[] { 50 }, like).data<float>().ToArray());
        Assert.Equal(a.NextInt(0, 1000), b.NextInt(0, 1000));
    }
}
