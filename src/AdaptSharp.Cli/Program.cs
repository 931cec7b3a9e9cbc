using System.CommandLine;

namespace AdaptSharp.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("AdaptSharp: robust prompt tuning of Vision Transformers (ADAPT).");
        root.Subcommands.Add(Commands.DataCommand.Create());
        return root.Parse(args).Invoke();
    }
}
