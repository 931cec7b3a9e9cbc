using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// FAB's projection step: for each row, the displacement d of smallest norm (L-inf or L2) with
/// w·(t + d) = b and t + d in [0,1]^D. When the box makes the hyperplane unreachable, d moves every
/// coordinate as far towards it as the box allows.
/// <para>Solved exactly. Let c = b - w·t and move coordinate i in direction s_i = sign(c w_i), which has
/// room_i to the box. At "radius" r the largest reachable change is g(r) = sum_i u_i min(r, k_i): for
/// L-inf k_i = room_i, u_i = |w_i| (d_i = s_i min(r, room_i)); for L2 (d_i = s_i min(r |w_i|, room_i),
/// the KKT form) k_i = room_i/|w_i|, u_i = w_i^2. g is concave piecewise linear with breakpoints k_i:
/// sort them, find the segment where g reaches |c| and solve the linear equation on it.</para>
/// </summary>
internal static class HyperplaneProjection
{
    /// <param name="t">(B, D) points.</param>
    /// <param name="w">(B, D) normals.</param>
    /// <param name="b">(B) offsets.</param>
    public static Tensor Project(Tensor t, Tensor w, Tensor b, AttackNorm norm)
    {
        using var scope = NewDisposeScope();
        var dtype = t.dtype;
        t = t.to_type(ScalarType.Float64);
        w = w.to_type(ScalarType.Float64);
        b = b.to_type(ScalarType.Float64);
        var gap = b - (w * t).sum(1);
        var up = gap.ge(0).unsqueeze(1);
        var direction = where(up, w.sign(), -w.sign());
        var room = where(direction.gt(0), 1.0 - t, t).clamp_min(0.0);
        var absW = w.abs();
        var active = absW.gt(0);
        var (breakpoints, weight, scale) = norm == AttackNorm.LInf
            ? (where(active, room, zeros_like(room)), absW, ones_like(absW))
            : (where(active, room / absW.clamp_min(1e-300), zeros_like(room)), absW.square(), absW);
        var need = gap.abs().unsqueeze(1);

        var (sortedBreaks, order) = breakpoints.sort(1);
        var sortedWeight = weight.gather(1, order);
        var total = sortedWeight.sum(1, keepdim: true);
        var saturated = (sortedWeight * sortedBreaks).cumsum(1);     // sum_{j<=k} u_j k_j
        var slope = total - sortedWeight.cumsum(1);                 // sum_{j>k} u_j
        var reach = saturated + sortedBreaks * slope;               // g at the k-th breakpoint
        var below = reach.lt(need).sum(1, keepdim: true);            // breakpoints that fall short
        var d = weight.shape[1];
        var saturatedPadded = cat(new[] { zeros_like(total), saturated }, 1);
        var slopePadded = cat(new[] { total, slope }, 1);
        var k = below.clamp_max(d);
        var radius = ((need - saturatedPadded.gather(1, k)) / slopePadded.gather(1, k).clamp_min(1e-300)).clamp_min(0.0);
        var infeasible = below.ge(d);
        var step = where(infeasible, room, minimum(room, radius * scale));
        var result = (direction * step * active.to_type(ScalarType.Float64)).to_type(dtype);
        return result.MoveToOuterDisposeScope();
    }
}
