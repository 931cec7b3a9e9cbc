namespace AdaptSharp.Checkpoints;

/// <summary>
/// A checkpoint or interchange file is malformed, or does not fit the model it is loaded into.
/// The message is one line that names the file and the problem, fit to show a user as is.
/// </summary>
public sealed class CheckpointFormatException : Exception
{
    public CheckpointFormatException(string message)
        : base(message)
    {
    }

    public CheckpointFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Builds the usual "file: problem" message.</summary>
    internal static CheckpointFormatException For(string file, string problem, Exception? inner = null) =>
        new(Runtime.OneLineText.Escape($"{file}: {problem}"), inner);
}
