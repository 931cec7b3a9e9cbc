using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AdaptSharp.Training;

/// <summary>
/// A first-order optimizer over named parameters whose whole state is a set of named tensors plus a
/// step count, so it can be stored in a checkpoint and restored bit for bit. State tensor names are
/// <c>optim.&lt;parameter&gt;.&lt;slot&gt;</c>.
/// </summary>
public abstract class ParameterOptimizer : IDisposable
{
    public const string StatePrefix = "optim.";

    protected ParameterOptimizer(IEnumerable<(string Name, Parameter Parameter)> parameters, OptimizerOptions options)
    {
        Parameters = parameters.ToList();
        if (Parameters.Count == 0)
            throw new ArgumentException("nothing to optimize: the trainable set is empty");
        Options = options;
    }

    public IReadOnlyList<(string Name, Parameter Parameter)> Parameters { get; }

    public OptimizerOptions Options { get; }

    /// <summary>Number of updates applied so far.</summary>
    public long StepCount { get; protected set; }

    public static ParameterOptimizer Create(IEnumerable<(string Name, Parameter Parameter)> parameters, OptimizerOptions options) =>
        options.Kind switch
        {
            OptimizerKind.Sgd => new SgdOptimizer(parameters, options),
            OptimizerKind.AdamW => new AdamWOptimizer(parameters, options),
            _ => throw new ArgumentOutOfRangeException(nameof(options)),
        };

    /// <summary>Applies one update with learning rate <paramref name="lr"/> using the parameters' .grad.</summary>
    public void Step(double lr)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        StepCount++;
        foreach (var (name, p) in Parameters)
        {
            var grad = p.grad;
            if (grad is null) continue;
            Update(name, p, grad, lr, DecayFor(name, p));
        }
    }

    public void ZeroGrad()
    {
        foreach (var (_, p) in Parameters)
        {
            var g = p.grad;
            if (g is null) continue;
            g.detach_().zero_();
        }
    }

    protected abstract void Update(string name, Parameter parameter, Tensor grad, double lr, double weightDecay);

    /// <summary>Slot names per parameter (e.g. "momentum", or "exp_avg" and "exp_avg_sq").</summary>
    protected abstract IEnumerable<string> Slots { get; }

    protected readonly Dictionary<string, Tensor> State = new(StringComparer.Ordinal);

    protected static string Key(string parameter, string slot) => $"{StatePrefix}{parameter}.{slot}";

    /// <summary>A state tensor, created as zeros the first time.</summary>
    protected Tensor Slot(string parameter, string slot, Tensor like, out bool created)
    {
        var key = Key(parameter, slot);
        created = !State.TryGetValue(key, out var t);
        if (created)
        {
            t = zeros_like(like).DetachFromDisposeScope();
            State[key] = t;
        }
        return t!;
    }

    private double DecayFor(string name, Parameter p)
    {
        if (!Options.SkipDecayOnNormsAndBiases) return Options.WeightDecay;
        var exempt = p.dim() <= 1 || name is "cls_token" or "pos_embed";
        return exempt ? 0.0 : Options.WeightDecay;
    }

    /// <summary>The current state tensors (owned by the optimizer; copy before disposing the optimizer).</summary>
    public IReadOnlyDictionary<string, Tensor> StateTensors() => State;

    /// <summary>Replaces the state with copies of the given tensors (entries not starting with the prefix are ignored).</summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> tensors, long stepCount)
    {
        foreach (var t in State.Values) t.Dispose();
        State.Clear();
        var known = new HashSet<string>(Parameters.SelectMany(p => Slots.Select(s => Key(p.Name, s))), StringComparer.Ordinal);
        foreach (var (key, value) in tensors)
        {
            if (!key.StartsWith(StatePrefix, StringComparison.Ordinal)) continue;
            if (!known.Contains(key))
                throw new ArgumentException($"optimizer state '{key}' does not belong to any trainable parameter of this {GetType().Name}");
            var parameter = Parameters.First(p => key.StartsWith(StatePrefix + p.Name + ".", StringComparison.Ordinal)).Parameter;
            if (!value.shape.SequenceEqual(parameter.shape))
                throw new ArgumentException($"optimizer state '{key}' has shape [{string.Join(",", value.shape)}], parameter has [{string.Join(",", parameter.shape)}]");
            State[key] = value.to(parameter.dtype, parameter.device).clone().DetachFromDisposeScope();
        }
        StepCount = stepCount;
    }

    public void Dispose()
    {
        foreach (var t in State.Values) t.Dispose();
        State.Clear();
        GC.SuppressFinalize(this);
    }
}
