using AdaptSharp.Attacks;
namespace AdaptSharp.Evaluation;

/// <summary>Robust accuracy of one attack and source at one eps (for the robust accuracy vs eps curve).</summary>
public sealed record EpsSweepPoint(double Eps, AttackSpec Attack, AttackSource Source, int Points, int Robust)
{
    public double Accuracy => Points == 0 ? 0.0 : (double)Robust / Points;
}
