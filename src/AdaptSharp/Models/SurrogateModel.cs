using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AdaptSharp.Models;

/// <summary>
/// A surrogate for transfer attacks: a ViT (with its prompts, if it has any) seen as an "images in [0,1] ->
/// logits" module at the evaluated model's input size. Inputs of another size are resized bilinearly (a
/// differentiable step, so white-box attacks get their gradient through it) to the surrogate's own size.
/// </summary>
public sealed class SurrogateModel : IDisposable
{
    public SurrogateModel(string name, VisionTransformer model)
    {
        Name = name;
        Model = model;
        model.eval();
        foreach (var p in model.parameters())
            p.requires_grad_(false);
    }

    public string Name { get; }

    public VisionTransformer Model { get; }

    /// <summary>The surrogate as an attack sees it (named "transfer:NAME").</summary>
    public ModelView View => new($"transfer:{Name}", Forward);

    /// <summary>Logits for images (N,C,H,W) in [0,1] of any size; resized when H or W differs from the surrogate's.</summary>
    public Tensor Forward(Tensor images)
    {
        var size = Model.Config.ImageSize;
        if (images.dim() != 4 || images.shape[1] != Model.Config.InChannels)
            throw new ArgumentException(
                $"surrogate {Name} takes (N,{Model.Config.InChannels},H,W) images, got [{string.Join(",", images.shape)}]");
        if (images.shape[2] == size && images.shape[3] == size)
            return Model.Forward(images, usePrompts: Model.HasPrompts);
        using var scope = NewDisposeScope();
        var resized = F.interpolate(images, new long[] { size, size }, mode: InterpolationMode.Bilinear, align_corners: false);
        return Model.Forward(resized, usePrompts: Model.HasPrompts).MoveToOuterDisposeScope();
    }

    public void Dispose() => Model.Dispose();
}
