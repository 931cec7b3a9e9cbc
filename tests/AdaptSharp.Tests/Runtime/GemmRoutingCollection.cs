namespace AdaptSharp.Tests.Runtime;

/// <summary>Tests that force the process-wide GEMM route run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GemmRoutingCollection
{
    public const string Name = "GEMM routing (process-wide)";
}
