namespace AdaptSharp.Attacks;

/// <summary>Loss of untargeted APGD.</summary>
public enum ApgdLoss
{
    CrossEntropy,
    Dlr,
}
