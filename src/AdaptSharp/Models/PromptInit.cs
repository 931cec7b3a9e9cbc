namespace AdaptSharp.Models;

public enum PromptInit
{
    /// <summary>VPT: uniform(-b, b), b = sqrt(6 / (C*p*p + D)).</summary>
    Vpt,
    /// <summary>The paper's code: Xavier-uniform over a (1, T, D, depth) tensor.</summary>
    Xavier,
}
