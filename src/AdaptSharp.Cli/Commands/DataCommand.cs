using System.CommandLine;
using System.Globalization;
using AdaptSharp.Data;
using AdaptSharp.IO;
using Spectre.Console;

namespace AdaptSharp.Cli.Commands;

/// <summary>
/// `adapt data inspect SPEC`: counts per class, image size, channels, value range, optional PNG contact sheet.
/// Data errors (DatasetException, ArgumentException) propagate to CliRunner: one line on stderr, exit 2.
/// </summary>
internal static class DataCommand
{
    public static Command Create()
    {
        var data = new Command("data", "Inspect datasets.");
        data.Subcommands.Add(CreateInspect());
        return data;
    }

    private static Command CreateInspect()
    {
        var spec = new Argument<string>("spec")
        {
            Description = "Dataset: fashion-mnist[:DIR], mnist:DIR, cifar10:DIR|TAR.GZ, cifar100[-coarse]:DIR|TAR.GZ, imagefolder:DIR",
        };
        var split = new Option<string>("--split") { Description = "train or test (val)", DefaultValueFactory = _ => "train" };
        var limit = new Option<int?>("--limit") { Description = "Keep only the first N images (or N random ones with --subset-seed)" }.Between(1);
        var subsetSeed = new Option<long?>("--subset-seed") { Description = "Seed for a random subset of --limit N images" };
        var imageSize = new Option<int?>("--image-size") { Description = "Resize image-folder images to N x N on load" }.Between(1, 4096);
        var grid = new Option<string?>("--grid") { Description = "Write a PNG contact sheet of a few images per class to this file" };
        var perClass = new Option<int>("--per-class") { Description = "Images per class on the contact sheet", DefaultValueFactory = _ => 8 }.Between(1, 256);
        var force = CommonOptions.Force();

        var inspect = new Command("inspect", "Show counts per class, image size, channels and value range; optionally write a contact sheet.");
        inspect.Arguments.Add(spec);
        inspect.With(split, limit, subsetSeed, imageSize, grid, perClass, force);
        inspect.SetAction(result =>
        {
            var datasetSpec = DatasetSpec.Parse(result.GetValue(spec)!);
            if (result.GetValue(grid) is { } gridOut)
                OutputGuard.CheckFile(gridOut, "--grid", [("dataset", datasetSpec.ResolvedPath)], result.GetValue(force));
            var datasetSplit = DatasetSplits.Parse(result.GetValue(split)!);
            using var dataset = DatasetLoader.Load(datasetSpec, datasetSplit, result.GetValue(limit), result.GetValue(subsetSeed), result.GetValue(imageSize));
            Print(datasetSpec, DatasetSummary.Compute(dataset));
            if (result.GetValue(grid) is { } gridPath)
            {
                ContactSheet.Write(dataset, gridPath, result.GetValue(perClass));
                AnsiConsole.Write(new Text($"Contact sheet: {gridPath}\n"));
            }
            return 0;
        });
        return inspect;
    }

    private static void Print(DatasetSpec spec, DatasetSummary s)
    {
        var inv = CultureInfo.InvariantCulture;
        var info = new Grid().AddColumn().AddColumn();
        void Row(string key, string value) => info.AddRow(new Text(key, new Style(decoration: Decoration.Bold)), new Text(value));
        Row("dataset", $"{spec} ({s.Name})");
        Row("images", s.Count.ToString("N0", inv));
        Row("image size", $"{s.Height}x{s.Width}");
        Row("channels", s.Channels.ToString(inv));
        Row("classes", s.ClassNames.Count.ToString(inv));
        Row("value range", $"[{s.Min.ToString("0.000", inv)}, {s.Max.ToString("0.000", inv)}] (pixels / 255)");
        Row("channel means", string.Join(", ", s.ChannelMeans.Select(m => m.ToString("0.000", inv))));
        AnsiConsole.Write(info);

        var table = new Table().AddColumn("label").AddColumn("class").AddColumn(new TableColumn("images").RightAligned());
        for (var c = 0; c < s.ClassNames.Count; c++)
            table.AddRow(new Text(c.ToString(inv)), new Text(s.ClassNames[c]), new Text(s.ClassCounts[c].ToString("N0", inv)));
        AnsiConsole.Write(table);
    }
}
