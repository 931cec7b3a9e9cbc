namespace AdaptSharp.Training;

/// <summary>Which view the training objective's inner attack differentiates through.</summary>
public enum AttackSource
{
    /// <summary>f_0: the network without prompts (how earlier defenses were applied to prompt tuning).</summary>
    PromptAgnostic,
    /// <summary>f_P: the prompted model, through the prompts (ADAPT).</summary>
    Adaptive,
}
