using AdaptSharp.Runtime;
using System.CommandLine;
using AdaptSharp.Data;
using AdaptSharp.Models;
using AdaptSharp.Training;
using Spectre.Console;

namespace AdaptSharp.Cli.Commands;

/// <summary>adapt pretrain: clean supervised full training of a ViT (from scratch or from a checkpoint), writing a timm-named backbone.</summary>
internal static class PretrainCommand
{
    public static Command Create()
    {
        var command = new Command("pretrain",
            $"Clean supervised training of a ViT from scratch (--model, default {ModelPresets.CpuPreset}) or continued from --backbone; writes a timm-named backbone file.");
        var backbone = new Option<string?>("--backbone") { Description = "Continue from this backbone file instead of random weights" };
        var model = CommonOptions.Model();
        var shared = new TrainingCommandOptions();
        command.With([backbone, model, .. shared.All]);
        command.SetAction(result =>
        {
            TorchRuntime.ConfigureThreads();
            var data = DatasetSpec.Parse(result.GetValue(shared.Data) ?? "fashion-mnist");
            var output = shared.Output(result, "backbone.safetensors", [("--backbone", result.GetValue(backbone))]);
            var recipe = result.GetValue(shared.Recipe) is string name ? TrainingRecipe.Get(name) : TrainingRecipe.PretrainFashionMnistCpu;
            recipe = shared.Apply(result, recipe with { Method = ObjectiveKind.Natural, Trainable = "full", Prompts = "none" }, data.Name);
            var spec = shared.Job(result, data, recipe, output) with
            {
                BackbonePath = result.GetValue(backbone),
                ModelPreset = result.GetValue(model) ?? (result.GetValue(backbone) is null ? ModelPresets.CpuPreset : null),
                CommandLine = "adapt " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)),
            };
            AnsiConsole.MarkupLine($"[bold]adapt pretrain[/] recipe {Markup.Escape(recipe.Name)}: {Markup.Escape(recipe.Description)}");
            return TuneCommand.Report(TrainingConsole.Run(spec));
        });
        return command;
    }
}
