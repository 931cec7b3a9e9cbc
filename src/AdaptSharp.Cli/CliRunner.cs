using System.CommandLine;
using System.Text.RegularExpressions;
using AdaptSharp.Checkpoints;
using AdaptSharp.Runtime;
using AdaptSharp.Training;

namespace AdaptSharp.Cli;

/// <summary>Runs the command tree; any failure (a parse error included) becomes one line on stderr and a non-zero exit.</summary>
internal static partial class CliRunner
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
            var parsed = root.Parse(args);
            if (parsed.Errors.Count > 0 && args.Length > 0)
            {
                Console.Error.WriteLine($"adapt: {ParseErrorLine(parsed.Errors[0].Message)}");
                return UserError;
            }
            var code = parsed.Invoke(config);
            // on stderr: stdout may be machine-read (adapt predict)
            if (code == 0 && AdaptiveThreads.Summary is { } threads)
                Console.Error.WriteLine(threads);
            return code;
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

    /// <summary>
    /// System.CommandLine's parse error as one line without .NET type names: "Cannot parse argument 'abc' for option
    /// '--lr' as expected type 'System.Nullable`1[System.Double]'" becomes "--lr: 'abc' is not a number".
    /// </summary>
    public static string ParseErrorLine(string message)
    {
        var line = FirstLine(message);
        var m = CannotParse().Match(line);
        if (m.Success)
        {
            var type = m.Groups["type"].Value;
            var expected = type.Contains("Int32", StringComparison.Ordinal) ? "an integer from -2147483648 to 2147483647"
                : type.Contains("Int64", StringComparison.Ordinal) ? "an integer from -9223372036854775808 to 9223372036854775807"
                : type.Contains("Double", StringComparison.Ordinal) || type.Contains("Single", StringComparison.Ordinal) ? "a number"
                : type.Contains("Boolean", StringComparison.Ordinal) ? "true or false"
                : "a valid value";
            return $"{m.Groups["name"].Value}: '{m.Groups["value"].Value}' is not {expected}";
        }
        return TypeName().Replace(line, "a value");
    }

    private static bool IsUserError(Exception e) =>
        e is ArgumentException or FormatException or IOException or InvalidDataException or UnauthorizedAccessException
            or CheckpointFormatException or TrainingDivergedException
        || e.GetType().Name.EndsWith("FormatException", StringComparison.Ordinal)
        || e.GetType().Name.Contains("Dataset", StringComparison.Ordinal);

    private static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        return line.Length == 0 ? "failed" : line;
    }

    [GeneratedRegex(@"Cannot parse argument '(?<value>.*)' for (?:option|command|argument) '(?<name>[^']*)' as expected type '(?<type>[^']*)'")]
    private static partial Regex CannotParse();

    [GeneratedRegex(@"'System\.[^']*'")]
    private static partial Regex TypeName();
}
