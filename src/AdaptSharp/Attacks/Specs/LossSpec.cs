using System.Globalization;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>An attack loss: cross-entropy, the CW margin floored at -kappa, or DLR.</summary>
public sealed record LossSpec(LossKind Kind, double Kappa = Losses.CwKappa)
{
    public static LossSpec Ce { get; } = new(LossKind.CrossEntropy);

    public static LossSpec Dlr { get; } = new(LossKind.Dlr);

    public static LossSpec CwMargin(double kappa = Losses.CwKappa) => new(LossKind.CwMargin, kappa);

    /// <summary>The per-sample loss an untargeted attack maximises.</summary>
    public Func<Tensor, Tensor, Tensor> Function() => Kind switch
    {
        LossKind.CrossEntropy => Losses.CrossEntropy,
        LossKind.Dlr => Losses.Dlr,
        _ => Losses.Cw(Kappa),
    };

    public override string ToString() => Kind switch
    {
        LossKind.CrossEntropy => "CE",
        LossKind.Dlr => "DLR",
        _ => $"CW margin (kappa {Kappa.ToString("G4", CultureInfo.InvariantCulture)})",
    };
}
