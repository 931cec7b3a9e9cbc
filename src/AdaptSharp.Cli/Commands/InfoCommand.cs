using System.CommandLine;
using System.Text.Json;
using AdaptSharp.Models;
using Spectre.Console;

namespace AdaptSharp.Cli.Commands;

public static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Print a model's architecture and parameter table (total, trainable, %).");
        var model = CommonOptions.Model();
        var backbone = CommonOptions.Backbone();
        var imageSize = CommonOptions.ImageSize();
        var classes = CommonOptions.Classes();
        var prompts = new Option<string>("--prompts") { Description = "Prompt layout (deep:25, shallow:10, none) or a prompt file", DefaultValueFactory = _ => "none" };
        var train = new Option<string>("--train") { Description = "Trainable set: head,patch | prompts | full | linear", DefaultValueFactory = _ => "head,patch" };
        var json = new Option<bool>("--json") { Description = "Print machine-readable JSON" };
        command.Options.Add(backbone);
        command.Options.Add(model);
        command.Options.Add(imageSize);
        command.Options.Add(classes);
        command.Options.Add(prompts);
        command.Options.Add(train);
        command.Options.Add(json);
        command.SetAction(result =>
        {
            using var loaded = ModelLoading.Load(result.GetValue(backbone), result.GetValue(model), result.GetValue(imageSize),
                result.GetValue(classes), result.GetValue(prompts)!, device: "cpu");
            var vit = loaded.Model;
            var set = TrainableSets.Parse(result.GetValue(train)!);
            vit.SetTrainable(set);
            var count = vit.CountParameters();
            var c = vit.Config;
            if (result.GetValue(json))
            {
                var payload = new
                {
                    config = c,
                    prompts = vit.PromptConfig.ToString(),
                    trainable_set = TrainableSets.Format(set),
                    parameters = new { total = count.Total, trainable = count.Trainable, prompts = count.Prompts, trainable_percent = count.TrainablePercent },
                    groups = ModelLoading.GroupCounts(vit),
                    source = loaded.Source,
                };
                Console.WriteLine(JsonSerializer.Serialize(payload, new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(c.Name)}[/]  ({Markup.Escape(loaded.Source)})");
            AnsiConsole.WriteLine(
                $"input {c.InChannels}x{c.ImageSize}x{c.ImageSize}, patch {c.PatchSize} ({c.NumPatches} patches), width {c.Width}, depth {c.Depth}, heads {c.Heads}, mlp {c.MlpHidden}, classes {c.NumClasses}");
            AnsiConsole.MarkupLine(Markup.Escape($"normalisation mean [{string.Join(", ", c.Mean)}] std [{string.Join(", ", c.Std)}]; prompts {vit.PromptConfig}; trainable set {TrainableSets.Format(set)}"));
            var table = new Table().AddColumn("group").AddColumn(new TableColumn("parameters").RightAligned()).AddColumn(new TableColumn("trainable").RightAligned());
            foreach (var g in ModelLoading.GroupCounts(vit))
                table.AddRow(g.Group, g.Parameters.ToString("N0"), g.Trainable.ToString("N0"));
            table.AddRow("[bold]total[/]", $"[bold]{count.Total:N0}[/]", $"[bold]{count.Trainable:N0}[/]");
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"trainable: [bold]{count.Trainable:N0}[/] of {count.Total:N0} ({count.TrainablePercent:0.000}%)");
            return 0;
        });
        return command;
    }
}
