namespace AdaptSharp.Training;

public enum OptimizerKind
{
    /// <summary>SGD with (heavy-ball) momentum and L2 weight decay added to the gradient, as torch.optim.SGD.</summary>
    Sgd,
    /// <summary>Adam with decoupled weight decay, as torch.optim.AdamW.</summary>
    AdamW,
}
