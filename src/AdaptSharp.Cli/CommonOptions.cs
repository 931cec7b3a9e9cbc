using System.CommandLine;

namespace AdaptSharp.Cli;

/// <summary>Options shared by several commands, so each is spelled and documented once.</summary>
public static class CommonOptions
{
    public static Option<string?> Backbone() => new("--backbone")
    {
        Description = "Backbone safetensors file (timm names; AdaptSharp files carry their config)",
    };

    public static Option<string?> Model() => new("--model")
    {
        Description = "Architecture preset (vit-tiny-patch16, vit-small-patch16, vit-base-patch16, vit-large-patch16, vit-fmnist-cpu, vit-fmnist-cpu-d8); needed for raw timm files",
    };

    public static Option<int?> ImageSize() => new("--img-size") { Description = "Input image size when it differs from the preset's" };

    public static Option<int?> Classes() => new("--classes") { Description = "Number of classes (head re-initialised when it differs)" };

    public static Option<string> Device() => new("--device")
    {
        Description = "cpu, cuda or cuda:N (default: CUDA when available, else CPU)",
        DefaultValueFactory = _ => "auto",
    };

    public static Option<long> Seed() => new("--seed") { Description = "Random seed", DefaultValueFactory = _ => 0 };
}
