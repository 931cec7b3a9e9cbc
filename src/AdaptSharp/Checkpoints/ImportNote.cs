namespace AdaptSharp.Checkpoints;

/// <summary>One tensor that an import did not copy as is, and why.</summary>
public sealed record ImportNote(string Tensor, string Detail)
{
    public override string ToString() => $"{Tensor}: {Detail}";
}
