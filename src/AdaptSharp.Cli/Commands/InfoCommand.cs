using System.CommandLine;
using System.Text.Json;
using System.Globalization;
using AdaptSharp.Checkpoints;
using AdaptSharp.Models;
using AdaptSharp.Runtime;
using AdaptSharp.Training;
using Spectre.Console;

namespace AdaptSharp.Cli.Commands;

internal static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Print a model's architecture and parameter table (total, trainable, %).");
        var model = new ModelOptions();
        var layout = CommonOptions.PromptLayout();
        var train = new Option<string>("--train") { Description = "Trainable set: head,patch | prompts | full | linear", DefaultValueFactory = _ => "head,patch" };
        var json = new Option<bool>("--json") { Description = "Print machine-readable JSON" };
        var method = new Option<string>("--method") { Description = "Training objective for the cost estimate (natural, at, trades, mart, nfgsm, adapt-ce, adapt-kl)", DefaultValueFactory = _ => "adapt-ce" };
        var steps = new Option<int>("--steps") { Description = "Inner PGD steps for the cost estimate", DefaultValueFactory = _ => 10 }.Between(0, 10_000);
        var images = new Option<long?>("--images") { Description = "Training images per epoch: print the training cost (FLOPs, and time at --gflops)" }.Between(1);
        var epochs = new Option<int>("--epochs") { Description = "Epochs for the cost estimate", DefaultValueFactory = _ => 1 }.Between(1, 100_000);
        var gflops = new Option<string>("--gflops") { Description = "Comma-separated sustained GFLOP/s to convert the cost into time", DefaultValueFactory = _ => "" };
        command.With([.. model.All, layout, train, json, method, steps, images, epochs, gflops]);
        command.SetAction(result =>
        {
            using var loaded = model.Load(result, "cpu", ModelUse.Inspection, CommonOptions.Prompts(result, model.Prompts, layout),
                result.GetValue(json) ? Console.Error : Console.Out);
            var vit = loaded.Model;
            var set = TrainableSets.Parse(result.GetValue(train)!);
            vit.SetTrainable(set);
            var count = vit.CountParameters();
            var c = vit.Config;
            // What this machine runs the model's large products on (a first use measures the libraries present).
            var gemm = c.Width >= GemmRouting.MinDimension
                ? GemmRouting.Route.ToString()
                : $"libtorch (width {c.Width} < {GemmRouting.MinDimension}: products too small to route)";
            if (result.GetValue(json))
            {
                var payload = new
                {
                    config = c,
                    prompts = vit.PromptConfig.ToString(),
                    trainable_set = TrainableSets.Format(set),
                    parameters = new { total = count.Total, trainable = count.Trainable, prompts = count.Prompts, trainable_percent = count.TrainablePercent },
                    groups = GroupCounts(vit),
                    source = loaded.Source,
                    gemm,
                };
                Console.WriteLine(JsonSerializer.Serialize(payload, new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(c.Name)}[/]  ({Markup.Escape(loaded.Source)})");
            AnsiConsole.WriteLine(
                $"input {c.InChannels}x{c.ImageSize}x{c.ImageSize}, patch {c.PatchSize} ({c.NumPatches} patches), width {c.Width}, depth {c.Depth}, heads {c.Heads}, mlp {c.MlpHidden}, classes {c.NumClasses}");
            AnsiConsole.MarkupLine(Markup.Escape($"normalisation mean [{string.Join(", ", c.Mean)}] std [{string.Join(", ", c.Std)}]; prompts {vit.PromptConfig}; trainable set {TrainableSets.Format(set)}"));
            var table = new Table().AddColumn("group").AddColumn(new TableColumn("parameters").RightAligned()).AddColumn(new TableColumn("trainable").RightAligned());
            foreach (var g in GroupCounts(vit))
                table.AddRow(g.Group, g.Parameters.ToString("N0"), g.Trainable.ToString("N0"));
            table.AddRow("[bold]total[/]", $"[bold]{count.Total:N0}[/]", $"[bold]{count.Trainable:N0}[/]");
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"trainable: [bold]{count.Trainable:N0}[/] of {count.Total:N0} ({count.TrainablePercent:0.000}%)");
            AnsiConsole.MarkupLine(Markup.Escape($"large GEMMs (ADAPT_GEMM): {gemm}"));
            if (result.GetValue(images) is long n)
                PrintCost(vit, set, TrainingObjective.ParseKind(result.GetValue(method)!), result.GetValue(steps), n, result.GetValue(epochs), result.GetValue(gflops)!);
            return 0;
        });
        return command;
    }

    private sealed record ParameterGroup(string Group, long Parameters, long Trainable);

    private static List<ParameterGroup> GroupCounts(VisionTransformer model)
    {
        var groups = new Dictionary<string, (long P, long T)>();
        foreach (var (name, p) in model.named_parameters())
        {
            var group = VisionTransformer.GroupOf(name) switch
            {
                TrainableSet.Prompts => "prompts",
                TrainableSet.Head => "head",
                TrainableSet.PatchEmbed => "patch embedding",
                _ => name.StartsWith("blocks.", StringComparison.Ordinal) ? "blocks" : "embeddings + norm",
            };
            groups.TryGetValue(group, out var v);
            groups[group] = (v.P + p.numel(), v.T + (p.requires_grad ? p.numel() : 0));
        }
        return groups.Select(kv => new ParameterGroup(kv.Key, kv.Value.P, kv.Value.T)).ToList();
    }

    private static void PrintCost(VisionTransformer vit, TrainableSet set, ObjectiveKind kind, int steps, long images, int epochs, string gflops)
    {
        var inv = CultureInfo.InvariantCulture;
        var c = vit.Config;
        var perImage = TrainingFlops.Step(c, vit.PromptConfig, kind, steps, set);
        var total = perImage * images * epochs;
        AnsiConsole.WriteLine(string.Create(inv,
            $"FLOPs per image: forward {FlopCounter.Forward(c, vit.PromptConfig) / 1e9:0.###} G, attack step {FlopCounter.AttackStep(c, vit.PromptConfig) / 1e9:0.###} G, " +
            $"{TrainingObjective.FormatKind(kind)} training step (PGD-{steps}) {perImage / 1e9:0.###} G"));
        AnsiConsole.WriteLine(string.Create(inv, $"training cost: {images:N0} images x {epochs} epochs = {total / 1e15:0.###} PFLOP"));
        foreach (var part in gflops.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!double.TryParse(part, NumberStyles.Float, inv, out var rate) || !(rate > 0))
                throw new ArgumentException($"--gflops: bad rate '{part}'");
            var seconds = total / (rate * 1e9);
            AnsiConsole.WriteLine(string.Create(inv, $"  at {rate:N0} GFLOP/s sustained: {seconds / 3600:0.#} h ({seconds / 86400:0.##} days)"));
        }
    }
}
