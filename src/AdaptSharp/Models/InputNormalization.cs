using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Models;

/// <summary>(x - mean) / std per channel, inside the model so every attack works in pixel units.</summary>
internal sealed class InputNormalization : nn.Module<Tensor, Tensor>
{
    private readonly Tensor mean;
    private readonly Tensor inv_std;

    public InputNormalization(float[] mean, float[] std) : base(nameof(InputNormalization))
    {
        this.mean = tensor(mean).reshape(1, mean.Length, 1, 1);
        this.inv_std = tensor(std.Select(s => 1f / s).ToArray()).reshape(1, std.Length, 1, 1);
        register_buffer("mean", this.mean, persistent: false);
        register_buffer("inv_std", this.inv_std, persistent: false);
    }

    public override Tensor forward(Tensor x) => (x - mean) * inv_std;
}
