namespace AdaptSharp.Attacks;

/// <summary>Thrown when an attack produced a point outside the eps-ball or outside [0,1].</summary>
public sealed class ThreatModelViolationException(string message) : Exception(message);
