namespace AdaptSharp.Evaluation;

/// <summary>What a report says was evaluated: model label, weight fingerprints and prompt layout.</summary>
internal sealed record EvalPlanIdentity(string Model, string ModelFingerprint, string? PromptFingerprint, string Prompts, bool HasPrompts);
