using System.CommandLine;

namespace AdaptSharp.Cli;

/// <summary>Runs the command tree; any failure becomes one line on stderr and a non-zero exit.</summary>
public static class CliRunner
{
    public const int UserError = 2;
    public const int InternalError = 1;

    public static int Run(RootCommand root, string[] args)
    {
        // Signals are ours (Interruption): System.CommandLine's own handler would end the process before the state is saved.
        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        using var interruption = Interruption.Install();
        try
        {
            return root.Parse(args).Invoke(config);
        }
        catch (OperationCanceledException e)
        {
            Console.Error.WriteLine($"adapt: {(e.Message.StartsWith("interrupted", StringComparison.Ordinal) ? e.Message : "interrupted")}");
            return Interruption.ExitCode;
        }
        catch (Exception e)
        {
            var inner = e is AggregateException or TypeInitializationException or System.Reflection.TargetInvocationException
                && e.InnerException is not null ? e.InnerException : e;
            Console.Error.WriteLine($"adapt: {FirstLine(inner.Message)}");
            if (Environment.GetEnvironmentVariable("ADAPT_DEBUG") == "1")
                Console.Error.WriteLine(inner);
            return IsUserError(inner) ? UserError : InternalError;
        }
    }

    private static bool IsUserError(Exception e) =>
        e is ArgumentException or FormatException or IOException or InvalidDataException or UnauthorizedAccessException
        || e.GetType().Name.EndsWith("FormatException", StringComparison.Ordinal)
        || e.GetType().Name.Contains("Dataset", StringComparison.Ordinal);

    private static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        return line.Length == 0 ? "failed" : line;
    }
}
