using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// Minimal L-inf displacement onto a hyperplane within the box: for each row, the d of smallest
/// ||d||_inf with w·(t + d) = b and t + d in [0,1]^D (FAB's projection step). When the box makes the
/// hyperplane unreachable, d moves every coordinate fully towards it (the closest the box allows).
/// Solved exactly: the largest change of w·(t+d) at radius r is a concave piecewise-linear function of r
/// whose breakpoints are each coordinate's room to the box; sort them and solve on the right segment.
/// </summary>
internal static class LinfHyperplaneProjection
{
    /// <param name="t">(B, D) points.</param>
    /// <param name="w">(B, D) normals.</param>
    /// <param name="b">(B) offsets.</param>
    public static Tensor Project(Tensor t, Tensor w, Tensor b)
    {
        using var scope = NewDisposeScope();
        var dtype = t.dtype;
        t = t.to_type(ScalarType.Float64);
        w = w.to_type(ScalarType.Float64);
        b = b.to_type(ScalarType.Float64);
        var gap = b - (w * t).sum(1);                              // needed change of w·x
        var up = gap.ge(0).unsqueeze(1);
        var direction = where(up, w.sign(), -w.sign());            // move each coordinate this way
        var room = where(direction.gt(0), 1.0 - t, t).clamp_min(0.0);
        var weight = w.abs();
        var need = gap.abs();

        var (sortedRoom, order) = room.sort(1);
        var sortedWeight = weight.gather(1, order);
        var total = sortedWeight.sum(1, keepdim: true);
        var full = (sortedWeight * sortedRoom).cumsum(1);           // sum_{j<=k} u_j c_j
        var rest = total - sortedWeight.cumsum(1);                 // sum_{j>k} u_j
        var reach = full + sortedRoom * rest;                      // change reachable at r = c_k
        var below = reach.lt(need.unsqueeze(1)).sum(1);            // breakpoints that fall short
        var d = weight.shape[1];
        var fullPadded = cat(new[] { zeros_like(total), full }, 1);
        var restPadded = cat(new[] { total, rest }, 1);
        var k = below.clamp_max(d).unsqueeze(1);
        var radius = ((need.unsqueeze(1) - fullPadded.gather(1, k)) / restPadded.gather(1, k).clamp_min(1e-30)).clamp_min(0.0);
        var infeasible = below.ge(d).unsqueeze(1);
        var step = where(infeasible, room, minimum(room, radius));
        var result = (direction * step).to_type(dtype);
        return result.MoveToOuterDisposeScope();
    }
}
