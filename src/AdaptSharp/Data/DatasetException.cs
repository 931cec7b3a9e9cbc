namespace AdaptSharp.Data;

/// <summary>
/// A problem with the user's data (missing directory or file, wrong format, unreadable image).
/// The message is one line naming the file and what is wrong; the CLI prints it and exits non-zero.
/// </summary>
public sealed class DatasetException : Exception
{
    public DatasetException(string message) : base(Runtime.OneLineText.Escape(message)) { }

    public DatasetException(string message, Exception inner) : base(Runtime.OneLineText.Escape(message), inner) { }
}
