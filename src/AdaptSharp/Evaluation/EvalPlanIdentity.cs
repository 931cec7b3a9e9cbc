namespace AdaptSharp.Evaluation;

/// <summary>What a report says was evaluated: model label, weight fingerprints, prompt layout and the transfer surrogates.</summary>
internal sealed record EvalPlanIdentity(string Model, string ModelFingerprint, string? PromptFingerprint, string Prompts, bool HasPrompts)
{
    public IReadOnlyList<SurrogateIdentity> Surrogates { get; init; } = [];
}
