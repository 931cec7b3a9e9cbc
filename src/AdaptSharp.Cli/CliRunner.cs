using System.CommandLine;

namespace AdaptSharp.Cli;

/// <summary>Runs the command tree; any failure becomes one line on stderr and a non-zero exit.</summary>
public static class CliRunner
{
    public const int UserError = 2;
    public const int InternalError = 1;

    public static int Run(RootCommand root, string[] args)
    {
        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        try
        {
            return root.Parse(args).Invoke(config);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("adapt: cancelled");
            return 130;
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
