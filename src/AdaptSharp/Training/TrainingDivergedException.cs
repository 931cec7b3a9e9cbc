namespace AdaptSharp.Training;

/// <summary>
/// Training produced a non-finite loss, gradient or parameter. Thrown before the bad step is applied when possible;
/// nothing is saved afterwards, so the last good checkpoint on disk stays as it was and no NaN output is written.
/// </summary>
public sealed class TrainingDivergedException(string message) : Exception(message);
