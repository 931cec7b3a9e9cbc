namespace AdaptSharp.Attacks;

/// <summary>Loss families of <see cref="LossSpec"/>.</summary>
public enum LossKind
{
    CrossEntropy,
    CwMargin,
    Dlr,
}
