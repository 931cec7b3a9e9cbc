using static TorchSharp.torch;

namespace AdaptSharp.Models;

/// <summary>
/// The ensemble surrogate of a transfer attack: the mean of the members' logits, so an attack's loss is taken on
/// the averaged logits (the simplest form of the paper's ensemble transfer).
/// </summary>
public static class SurrogateEnsemble
{
    /// <summary>The ensemble's name as a transfer source ("transfer:ensemble").</summary>
    public const string SourceName = "ensemble";

    public const string DefaultName = "transfer:" + SourceName;

    public static ModelView Average(IReadOnlyList<ModelView> members, string name = DefaultName)
    {
        if (members.Count == 0)
            throw new ArgumentException("an ensemble needs at least one surrogate");
        var copy = members.ToArray();
        return new ModelView(name, x => Mean(copy, x));
    }

    /// <summary>
    /// The transfer sources of a set of surrogates: each one's view ("transfer:NAME"), then, when there are
    /// several, their ensemble ("transfer:ensemble").
    /// </summary>
    public static IReadOnlyList<ModelView> Sources(IReadOnlyList<SurrogateModel> surrogates)
    {
        var views = surrogates.Select(s => s.View).ToList();
        if (views.Count > 1)
            views.Add(Average(views));
        return views;
    }

    private static Tensor Mean(ModelView[] members, Tensor x)
    {
        using var scope = NewDisposeScope();
        var sum = members[0].Forward(x);
        for (var i = 1; i < members.Length; i++)
            sum = sum + members[i].Forward(x);
        return (sum / members.Length).MoveToOuterDisposeScope();
    }
}
