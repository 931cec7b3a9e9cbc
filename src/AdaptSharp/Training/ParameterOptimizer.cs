using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AdaptSharp.Training;

/// <summary>
/// TorchSharp's <c>torch.optim.SGD</c> or <c>torch.optim.AdamW</c> over named parameters, with the learning rate set
/// per step from the schedule and the optimizer's state (read and restored through its <c>state_dict</c>) exposed as
/// named tensors <c>optim.&lt;parameter&gt;.&lt;slot&gt;</c>, so a checkpoint restores it bit for bit.
/// Parameters exempt from weight decay (<see cref="OptimizerOptions.SkipDecayOnNormsAndBiases"/>) form a second
/// parameter group with no decay.
/// </summary>
public sealed class ParameterOptimizer : IDisposable
{
    public const string StatePrefix = "optim.";
    public const string MomentumSlot = "momentum";
    public const string FirstMomentSlot = "exp_avg";
    public const string SecondMomentSlot = "exp_avg_sq";

    private readonly OptimizerHelper optimizer;
    private readonly OptimizerOptions options;

    /// <summary>The parameters in the optimizer's own order (group by group), which is its state_dict's order.</summary>
    private readonly List<(string Name, Parameter Parameter)> stateOrder;

    public ParameterOptimizer(IEnumerable<(string Name, Parameter Parameter)> parameters, OptimizerOptions options)
    {
        this.options = options;
        var all = parameters.ToList();
        if (all.Count == 0)
            throw new ArgumentException("nothing to optimize: the trainable set is empty");
        var decayed = all.Where(p => DecayFor(p.Name, p.Parameter) != 0).ToList();
        var exempt = all.Where(p => DecayFor(p.Name, p.Parameter) == 0).ToList();
        var groups = new[] { (Members: decayed, Decay: options.WeightDecay), (Members: exempt, Decay: 0.0) }
            .Where(g => g.Members.Count > 0).ToList();
        stateOrder = groups.SelectMany(g => g.Members).ToList();
        optimizer = options.Kind switch
        {
            OptimizerKind.Sgd => torch.optim.SGD(groups.Select(g => new SGD.ParamGroup(g.Members.Select(m => m.Parameter),
                new SGD.Options { weight_decay = g.Decay })), 0.0, momentum: options.Momentum),
            OptimizerKind.AdamW => torch.optim.AdamW(groups.Select(g => new AdamW.ParamGroup(g.Members.Select(m => m.Parameter),
                new AdamW.Options { weight_decay = g.Decay })), 0.0, options.Beta1, options.Beta2, options.Epsilon),
            _ => throw new ArgumentOutOfRangeException(nameof(options)),
        };
    }

    /// <summary>Number of updates applied so far.</summary>
    public long StepCount { get; private set; }

    /// <summary>Applies one update with learning rate <paramref name="lr"/> using the parameters' .grad.</summary>
    public void Step(double lr)
    {
        foreach (var group in optimizer.ParamGroups)
            group.LearningRate = lr;
        optimizer.step();
        StepCount++;
    }

    public void ZeroGrad() => optimizer.zero_grad();

    private string[] Slots => options.Kind switch
    {
        OptimizerKind.Sgd => options.Momentum != 0 ? [MomentumSlot] : [],
        _ => [FirstMomentSlot, SecondMomentSlot],
    };

    private static string Key(string parameter, string slot) => $"{StatePrefix}{parameter}.{slot}";

    private double DecayFor(string name, Parameter p)
    {
        var exempt = options.SkipDecayOnNormsAndBiases && (p.dim() <= 1 || name is "cls_token" or "pos_embed");
        return exempt ? 0.0 : options.WeightDecay;
    }

    /// <summary>
    /// The optimizer's state from its state_dict as named tensors (owned by the optimizer; copy before stepping on or
    /// disposing it). SGD's momentum buffer exists from the first step on.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> StateTensors()
    {
        var states = optimizer.state_dict().State;
        return new Dictionary<string, Tensor>(stateOrder.SelectMany((p, i) => states[i] switch
        {
            SGD.State { momentum_buffer: { } buffer } => [KeyValuePair.Create(Key(p.Name, MomentumSlot), buffer)],
            AdamW.State adamw => new[] { KeyValuePair.Create(Key(p.Name, FirstMomentSlot), adamw.exp_avg), KeyValuePair.Create(Key(p.Name, SecondMomentSlot), adamw.exp_avg_sq) },
            _ => [],
        }), StringComparer.Ordinal);
    }

    /// <summary>
    /// Restores the state from named tensors (copies; entries not starting with the prefix are ignored) through the
    /// optimizer's load_state_dict, with <paramref name="stepCount"/> updates done.
    /// </summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> tensors, long stepCount)
    {
        var owners = stateOrder.SelectMany(p => Slots.Select(slot => (Key: Key(p.Name, slot), p.Parameter)))
            .ToDictionary(o => o.Key, o => o.Parameter, StringComparer.Ordinal);
        foreach (var (key, value) in tensors.Where(t => t.Key.StartsWith(StatePrefix, StringComparison.Ordinal)))
        {
            if (!owners.TryGetValue(key, out var parameter))
                throw new ArgumentException($"optimizer state '{key}' does not belong to any trainable parameter of this {options.Kind} optimizer");
            if (!value.shape.SequenceEqual(parameter.shape))
                throw new ArgumentException($"optimizer state '{key}' has shape [{string.Join(",", value.shape)}], parameter has [{string.Join(",", parameter.shape)}]");
        }
        StepCount = stepCount;
        // A checkpoint written before the first update (interrupted at once): the fresh optimizer is that state.
        // TorchSharp's SGD.State cannot load a null momentum buffer, so nothing is loaded.
        if (!owners.Keys.Any(tensors.ContainsKey))
            return;
        var current = optimizer.state_dict();
        var restored = new List<OptimizerState>();
        foreach (var (name, parameter) in stateOrder)
        {
            Tensor? Copy(string slot) => tensors.TryGetValue(Key(name, slot), out var v)
                ? v.to(parameter.dtype, parameter.device).clone().DetachFromDisposeScope()
                : null;
            restored.Add(options.Kind switch
            {
                OptimizerKind.Sgd => new SGD.State(parameter) { momentum_buffer = options.Momentum != 0 ? Copy(MomentumSlot) : null },
                _ => new AdamW.State(parameter)
                {
                    step = stepCount,
                    exp_avg = Copy(FirstMomentSlot) ?? zeros_like(parameter).DetachFromDisposeScope(),
                    exp_avg_sq = Copy(SecondMomentSlot) ?? zeros_like(parameter).DetachFromDisposeScope(),
                },
            });
        }
        current.State.Clear();
        current.State.AddRange(restored);
        optimizer.load_state_dict(current);
    }

    public void Dispose() => optimizer.Dispose();
}
