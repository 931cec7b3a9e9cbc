using AdaptSharp.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AdaptSharp.Models;

/// <summary>
/// timm-architecture Vision Transformer with optional visual prompts (VPT-shallow / VPT-deep) and
/// input normalisation inside, mapping images in [0,1] to logits. Field names are timm's state-dict
/// names, plus <c>prompt_tokens</c> [sets, T, D].
/// </summary>
public sealed class VisionTransformer : nn.Module<Tensor, Tensor>
{
    public const string PromptParameterName = "prompt_tokens";

    private readonly InputNormalization normalization;
    private readonly PatchEmbedding patch_embed;
    private readonly Parameter cls_token;
    private readonly Parameter pos_embed;
    private readonly ModuleList<TransformerBlock> blocks;
    private readonly LayerNorm norm;
    private readonly Linear? head;
    private readonly Parameter? prompt_tokens;

    public VisionTransformer(VitConfig config, PromptConfig? prompts = null, long seed = 0) : base(nameof(VisionTransformer))
    {
        config.Validate();
        Config = config;
        PromptConfig = prompts ?? PromptConfig.None;
        PromptConfig.CheckFits(config);
        var d = config.Width;

        normalization = new InputNormalization(config.Mean, config.Std);
        patch_embed = new PatchEmbedding(config.InChannels, d, config.PatchSize);
        cls_token = new Parameter(zeros(1, 1, d));
        pos_embed = new Parameter(zeros(1, 1 + config.NumPatches, d));
        blocks = new ModuleList<TransformerBlock>();
        for (int i = 0; i < config.Depth; i++)
            blocks.Add(new TransformerBlock(d, config.Heads, config.MlpHidden));
        norm = nn.LayerNorm(d, eps: TransformerBlock.LayerNormEps);
        head = config.NumClasses > 0 ? nn.Linear(d, config.NumClasses) : null;
        if (PromptConfig.HasPrompts)
            prompt_tokens = new Parameter(zeros(PromptConfig.Sets(config.Depth), PromptConfig.Length, d));

        RegisterComponents();
        InitializeWeights(seed);
    }

    public VitConfig Config { get; }

    public PromptConfig PromptConfig { get; }

    public bool HasPrompts => prompt_tokens is not null;

    /// <summary>f_P: the model with its prompts (equal to f_0 when it has none).</summary>
    public ModelView Prompted => new("f_P", x => Forward(x, usePrompts: true), promptedLanes ??= new(x => ForwardFeatures(x, usePrompts: true), Classify));

    /// <summary>f_0: the same weights (patch embedding and head included) without prompts.</summary>
    public ModelView Unprompted => new("f_0", x => Forward(x, usePrompts: false), unpromptedLanes ??= new(x => ForwardFeatures(x, usePrompts: false), Classify));

    // One per model and view kind, whatever view object an attack is handed: their lanes are checked once.
    private LanedForward? promptedLanes;
    private LanedForward? unpromptedLanes;

    public Parameter? PromptTokens => prompt_tokens;

    public Linear? Head => head;

    public override Tensor forward(Tensor images) => Forward(images, usePrompts: true);

    public Tensor Forward(Tensor images, bool usePrompts)
    {
        var features = ForwardFeatures(images, usePrompts);
        if (head is null)
            return features;
        using (features)
            return Classify(features);
    }

    /// <summary>
    /// The head on features (N, D), routed like the blocks' products (<see cref="GemmRouting.TakesNarrow"/>: on AVX-512
    /// CPUs a head's rows do not depend on the thread count or the batch's other rows); the features themselves for a
    /// model without one.
    /// </summary>
    private Tensor Classify(Tensor features) => head is null ? features.alias() : GemmRouting.Linear(features, head.weight!, head.bias);

    /// <summary>The class token after the final norm, (N, D).</summary>
    public Tensor ForwardFeatures(Tensor images, bool usePrompts)
    {
        CheckInput(images);
        using var scope = NewDisposeScope();
        var x = patch_embed.forward(normalization.forward(images));
        var batch = x.shape[0];
        x = cat([cls_token.expand(batch, -1, -1), x], 1).add_(pos_embed);

        var prompted = usePrompts && prompt_tokens is not null;
        var deep = prompted && PromptConfig.Mode == PromptMode.Deep;
        if (prompted)
            x = InsertPrompts(x, 0, replace: false);

        for (int i = 0; i < blocks.Count; i++)
        {
            if (deep && i > 0)
                x = InsertPrompts(x, i, replace: true);
            x = blocks[i].forward(x);
        }
        x = norm.forward(x);
        return x.select(1, 0).MoveToOuterDisposeScope();
    }

    // Layout is [cls, prompts, patches]; with replace the previous block's prompt outputs are overwritten.
    // slice_scatter and split rather than cat of narrows: their backward is one pass over the gradient, where each
    // narrow's backward fills a zero tensor of x's size and the two are then added (the same values, more passes).
    private Tensor InsertPrompts(Tensor x, int set, bool replace)
    {
        var batch = x.shape[0];
        var length = PromptConfig.Length;
        var prompts = prompt_tokens![set].unsqueeze(0).expand(batch, -1, -1);
        if (replace)
            return x.slice_scatter(prompts, 1, 1, 1 + length);
        var parts = x.split([1, x.shape[1] - 1], 1);
        return cat([parts[0], prompts, parts[1]], 1);
    }

    private void CheckInput(Tensor images)
    {
        var c = Config;
        if (images.dim() != 4 || images.shape[1] != c.InChannels || images.shape[2] != c.ImageSize || images.shape[3] != c.ImageSize)
            throw new ArgumentException(
                $"model '{c.Name}' expects images of shape (N,{c.InChannels},{c.ImageSize},{c.ImageSize}), got ({string.Join(",", images.shape)})");
    }

    /// <summary>Sets requires_grad on exactly the chosen groups; everything else is frozen.</summary>
    public void SetTrainable(TrainableSet set)
    {
        foreach (var (name, p) in named_parameters())
            p.requires_grad = IsInSet(name, set);
    }

    /// <summary>The trainable group a parameter belongs to: Prompts, Head, PatchEmbed, or Backbone for the rest.</summary>
    public static TrainableSet GroupOf(string parameterName) =>
        parameterName == PromptParameterName ? TrainableSet.Prompts
        : parameterName.StartsWith("head.", StringComparison.Ordinal) ? TrainableSet.Head
        : parameterName.StartsWith("patch_embed.", StringComparison.Ordinal) ? TrainableSet.PatchEmbed
        : TrainableSet.Backbone;

    public static bool IsInSet(string parameterName, TrainableSet set)
    {
        var group = GroupOf(parameterName);
        // Full fine-tuning (Backbone) trains every group except prompts, which need their own flag.
        return set.HasFlag(group) || (group != TrainableSet.Prompts && set.HasFlag(TrainableSet.Backbone));
    }

    public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() =>
        named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter));

    /// <summary>Counts with "trainable" = the parameters that currently require gradients.</summary>
    public ParameterCount CountParameters() => Count(p => p.Parameter.requires_grad);

    /// <summary>Counts with "trainable" = the parameters <paramref name="set"/> would train; requires_grad is left as it is.</summary>
    public ParameterCount CountParameters(TrainableSet set) => Count(p => IsInSet(p.Name, set));

    private ParameterCount Count(Func<(string Name, Parameter Parameter), bool> trainable)
    {
        long total = 0, trained = 0, prompts = 0;
        foreach (var (name, p) in named_parameters())
        {
            total += p.numel();
            if (trainable((name, p))) trained += p.numel();
            if (name == PromptParameterName) prompts += p.numel();
        }
        return new ParameterCount(total, trained, prompts);
    }

    /// <summary>(Re)initialises the prompts only, e.g. after loading backbone weights.</summary>
    public void InitializePrompts(long seed)
    {
        if (prompt_tokens is null) return;
        using var _ = no_grad();
        var gen = new Generator((ulong)seed);
        var c = Config;
        double bound = PromptConfig.Init switch
        {
            // VPT: fan over one patch's pixels plus the width.
            PromptInit.Vpt => Math.Sqrt(6.0 / (c.InChannels * c.PatchSize * c.PatchSize + c.Width)),
            // Xavier over a (1, T, D, sets) tensor: fan_in = T*D*sets, fan_out = D*sets.
            _ => Math.Sqrt(6.0 / ((PromptConfig.Length + 1.0) * c.Width * prompt_tokens.shape[0])),
        };
        prompt_tokens.uniform_(-bound, bound, gen);
    }

    /// <summary>Re-initialises the classification head (used when a checkpoint's class count differs).</summary>
    public void InitializeHead(long seed)
    {
        if (head is null) return;
        using var _ = no_grad();
        var gen = new Generator((ulong)seed + 7);
        TruncatedNormal(head.weight!, 0.02, gen);
        head.bias!.zero_();
    }

    private void InitializeWeights(long seed)
    {
        using var _ = no_grad();
        var gen = new Generator((ulong)seed);
        TruncatedNormal(pos_embed, 0.02, gen);
        TruncatedNormal(cls_token, 1e-6, gen);
        foreach (var (name, p) in named_parameters())
        {
            if (name == PromptParameterName || name == "pos_embed" || name == "cls_token") continue;
            if (name.EndsWith(".bias", StringComparison.Ordinal))
                p.zero_();
            else if (name.Contains("norm", StringComparison.Ordinal))
            {
                using var one = 1.0.ToScalar();
                p.fill_(one);
            }
            else
                TruncatedNormal(p, 0.02, gen);
        }
        InitializePrompts(seed + 1);
    }

    private static void TruncatedNormal(Tensor t, double std, Generator gen)
    {
        // Scalars held in locals: an implicit double -> Scalar temporary can be finalized while libtorch reads it
        // (seen once as "Expected false to be true ... toDouble" under parallel tests).
        using var scale = std.ToScalar();
        using var low = (-2 * std).ToScalar();
        using var high = (2 * std).ToScalar();
        using var sample = randn(t.shape, generator: gen).mul_(scale).clamp_(low, high);
        t.copy_(sample);
    }
}
