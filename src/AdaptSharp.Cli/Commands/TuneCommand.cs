using AdaptSharp.Runtime;
using AdaptSharp.Attacks;
using System.CommandLine;
using AdaptSharp.Checkpoints;
using AdaptSharp.Data;
using AdaptSharp.Models;
using AdaptSharp.Training;
using Spectre.Console;

namespace AdaptSharp.Cli.Commands;

/// <summary>adapt tune: robust prompt tuning (or full fine-tuning / linear probing) of a pretrained backbone.</summary>
internal static class TuneCommand
{
    public static Command Create()
    {
        var command = new Command("tune",
            "Tune prompts (+ head / patch embedding) of a pretrained ViT with ADAPT or a baseline defense; writes a prompt file and a run folder.");
        var backbone = CommonOptions.Backbone();
        var model = CommonOptions.Model();
        var method = new Option<string?>("--method") { Description = "adapt-ce | adapt-kl | at | trades | mart | nfgsm | natural (default: the recipe's, adapt-ce)" };
        var lambda = new Option<double?>("--lambda") { Description = "Weight of the robust term (beta in TRADES/MART and the paper's code; default 6)" }
            .Where(v => v >= 0, ">= 0");
        var attackSource = new Option<string?>("--attack-source") { Description = "Where the inner attack runs: adaptive (f_P) or agnostic (f_0); default: the method's own" };
        var prompts = CommonOptions.PromptFile("Prompt file to continue from (its layout and trained tensors; tuned on --backbone)");
        var layout = CommonOptions.PromptLayout("Prompt layout: deep:T | shallow:T | none (default: the recipe's)");
        var train = new Option<string?>("--train") { Description = "Trainable set: head,patch | prompts | full | linear (default: head,patch)" };
        var shared = new TrainingCommandOptions();
        command.With([backbone, model, method, lambda, attackSource, prompts, layout, train, .. shared.All]);

        command.SetAction(result =>
        {
            TorchRuntime.ConfigureThreads();
            var data = DatasetSpec.Parse(result.GetValue(shared.Data) ?? throw new ArgumentException("name the training data with --data SPEC"));
            var output = shared.Output(result, "prompts.safetensors", [("--backbone", result.GetValue(backbone)), ("--prompts", result.GetValue(prompts))]);
            var recipe = result.GetValue(shared.Recipe) is string name ? TrainingRecipe.Get(name) : TrainingRecipe.DefaultFor(data.Name);
            if (result.GetValue(method) is string m) recipe = recipe with { Method = TrainingObjective.ParseKind(m) };
            if (result.GetValue(lambda) is double l) recipe = recipe with { Lambda = l };
            if (result.GetValue(prompts) is not null || result.GetValue(layout) is not null)
            {
                var p = CommonOptions.Prompts(result, prompts, layout);
                recipe = recipe with { Prompts = ModelLoader.IsPromptFile(p) ? p : PromptConfig.Parse(p).ToString() };
            }
            if (result.GetValue(train) is string t) recipe = recipe with { Trainable = TrainableSets.Format(TrainableSets.Parse(t)) };
            recipe = shared.Apply(result, recipe, data.Name);
            var backbonePath = result.GetValue(backbone);
            if (result.GetValue(shared.ImageSize) is null && recipe.ImageSize is int size
                && PatchSizeOf(backbonePath, result.GetValue(model)) is int patch && size % patch != 0)
            {
                // The recipe's size (e.g. paper-cifar10's 32) does not fit this backbone's patch grid: run at the
                // backbone's own size and resize the data, as adapt eval does.
                AnsiConsole.MarkupLine(Markup.Escape($"note: recipe {recipe.Name}'s input size {size} is not a multiple of the backbone's patch size {patch}; using the backbone's input size (data resized)"));
                recipe = recipe with { ImageSize = null };
            }
            var spec = shared.Job(result, data, recipe, output) with
            {
                BackbonePath = backbonePath,
                ModelPreset = result.GetValue(model),
                AttackSource = result.GetValue(attackSource) is string s ? TrainingObjective.ParseSource(s) : null,
                EvaluatePromptAgnostic = result.GetValue(shared.EvalAgnostic),
            };
            AnsiConsole.MarkupLine($"[bold]adapt tune[/] recipe {Markup.Escape(recipe.Name)}: {Markup.Escape(recipe.Description)}");
            return Report(TrainingConsole.Run(spec));
        });
        return command;
    }

    private static int? PatchSizeOf(string? backbone, string? preset)
    {
        if (preset is not null)
            return ModelPresets.Get(preset).PatchSize;
        return backbone is not null && File.Exists(backbone) ? BackboneFile.ReadConfig(backbone)?.PatchSize : null;
    }

    internal static int Report(TrainingJobResult result)
    {
        if (result.OutputPath is null)
        {
            Console.Error.WriteLine($"adapt: interrupted: checkpoint saved in {result.RunDirectory}; continue with the same command and --resume");
            return Interruption.ExitCode;
        }
        AnsiConsole.MarkupLine($"wrote [bold]{Markup.Escape(result.OutputPath)}[/]{(result.ExtraPromptPath is null ? "" : $" and {Markup.Escape(result.ExtraPromptPath)}")}");
        AnsiConsole.MarkupLine($"run folder {Markup.Escape(result.RunDirectory)} (metrics.jsonl, config.json, checkpoint); plot it with: adapt plot {Markup.Escape(result.RunDirectory)}");
        return 0;
    }
}
