namespace AdaptSharp.Attacks;

/// <summary>
/// One attack of a suite. A cascade member attacks only the points no earlier attack has broken; an
/// independent member attacks every clean-correct point, so its own accuracy is reported as well.
/// </summary>
public sealed record SuiteEntry(Attack Attack, bool Cascade = false);
