namespace AdaptSharp.Tests;

/// <summary>Tests that measure process-wide quantities (resident memory) run after the parallel ones, alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "serial";
}
