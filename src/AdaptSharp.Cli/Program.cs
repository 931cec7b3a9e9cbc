using System.CommandLine;
using AdaptSharp.Cli.Commands;

namespace AdaptSharp.Cli;

public static class Program
{
    public static int Main(string[] args) =>
        args is [UnitWorker.Argument] ? UnitWorker.Serve(Console.In, Console.Out, Console.Error) : CliRunner.Run(CreateRoot(), args);

    /// <summary>The full command tree (also used by tests to check parse errors without running anything).</summary>
    public static RootCommand CreateRoot()
    {
        var root = new RootCommand("AdaptSharp: robust prompt tuning of Vision Transformers (ADAPT) and honest robustness evaluation.");
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(PretrainCommand.Create());
        root.Subcommands.Add(TuneCommand.Create());
        root.Subcommands.Add(PlotCommand.Create());
        root.Subcommands.Add(PredictCommand.Create());
        root.Subcommands.Add(DataCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(MergeCommand.Create());
        root.Subcommands.Add(StudyCommand.Create());
        return root;
    }
}
