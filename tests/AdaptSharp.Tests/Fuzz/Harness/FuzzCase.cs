namespace AdaptSharp.Fuzzing;

/// <summary>A seed and the mutations applied to it (to the decompressed bytes when <see cref="Inner"/>).</summary>
public sealed record FuzzCase(int Seed, Mutation[] Mutations, bool Inner)
{
    public override string ToString() => $"seed {Seed}{(Inner ? " (inner)" : "")}: {string.Join("; ", Mutations.Select(m => m.ToString()))}";
}
