namespace AdaptSharp.Fuzzing;

/// <summary>An input broke a parser's contract (crash, wrong exception, multi-line message, hang, over-allocation).</summary>
public sealed class FuzzViolation(string message, Exception? inner = null) : Exception(message, inner);
