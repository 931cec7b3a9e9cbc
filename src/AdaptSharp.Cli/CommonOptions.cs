using System.CommandLine;
using AdaptSharp.Checkpoints;
using AdaptSharp.Models;

namespace AdaptSharp.Cli;

/// <summary>Options shared by several commands, so each is spelled, documented and range-checked once.</summary>
internal static class CommonOptions
{
    public static Option<string?> Backbone() => new("--backbone")
    {
        Description = "Backbone safetensors file (timm names; AdaptSharp files carry their config)",
    };

    public static Option<string?> Model() => new("--model")
    {
        Description = "Architecture preset (vit-tiny-patch16, vit-small-patch16, vit-base-patch16, vit-large-patch16, vit-fmnist-cpu, vit-fmnist-cpu-d8); needed for raw timm files",
    };

    public static Option<int?> ImageSize() => new Option<int?>("--img-size") { Description = "Input image size when it differs from the backbone's" }
        .Between(1, 4096);

    public static Option<int?> Classes() => new Option<int?>("--classes")
    {
        Description = "Number of classes (default: the checkpoint head's; predict/eval refuse a count that differs from it)",
    }.Between(1, 1_000_000);

    /// <summary>A trained prompt file. Only a file: a layout such as deep:4 goes to --prompt-layout.</summary>
    public static Option<string?> PromptFile(string description = "Prompt file (trained on --backbone)")
    {
        var option = new Option<string?>("--prompts") { Description = description };
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } value && PromptConfig.IsLayout(value))
                r.AddError($"--prompts takes a prompt file; '{value}' is a prompt layout: use --prompt-layout {value} (for a file of that name write ./{value})");
        });
        return option;
    }

    /// <summary>An untrained prompt layout (deep:T, shallow:T, none).</summary>
    public static Option<string?> PromptLayout(string description = "Prompt layout: deep:T, shallow:T or none")
    {
        var option = new Option<string?>("--prompt-layout") { Description = description };
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is not { } value)
                return;
            if (!PromptConfig.IsLayout(value))
                r.AddError($"--prompt-layout takes deep:T, shallow:T or none, got '{value}' (a prompt file goes to --prompts)");
            else
            {
                try
                {
                    PromptConfig.Parse(value);
                }
                catch (ArgumentException e)
                {
                    r.AddError($"--prompt-layout: {e.Message}");
                }
            }
        });
        return option;
    }

    /// <summary>The prompts of a request: the file, else the layout, else <paramref name="fallback"/>; both given is an error.</summary>
    public static string Prompts(ParseResult result, Option<string?> file, Option<string?>? layout, string fallback = "none")
    {
        var f = result.GetValue(file);
        var l = layout is null ? null : result.GetValue(layout);
        if (f is not null && l is not null)
            throw new ArgumentException("give either --prompts FILE (trained prompts) or --prompt-layout LAYOUT (untrained), not both");
        return f ?? l ?? fallback;
    }

    /// <summary>The demo's and the study's data: Fashion-MNIST, installed when missing (<see cref="FashionMnistInstaller"/>).</summary>
    public static Option<string?> FashionMnistFolder() => new("--data")
    {
        Description = "Folder with the Fashion-MNIST IDX files (default: the dataset-fashion-mnist package's)",
    };

    public static Option<bool> Force() => new("--force") { Description = "Overwrite an existing output file" };

    public static Option<string> Device() => new("--device")
    {
        Description = "cpu, cuda or cuda:N (default: CUDA when available, else CPU)",
        DefaultValueFactory = _ => "auto",
    };

    public static Option<long> Seed() => new("--seed") { Description = "Random seed", DefaultValueFactory = _ => 0 };

    /// <summary>Adds <paramref name="options"/> to <paramref name="command"/>, in --help order.</summary>
    public static Command With(this Command command, params IEnumerable<Option> options)
    {
        foreach (var option in options)
            command.Options.Add(option);
        return command;
    }
}
