namespace AdaptSharp.Runtime;

/// <summary>How libtorch's intra-op thread count is chosen for attack steps (<see cref="AdaptiveThreads"/>).</summary>
public enum ThreadPolicy
{
    /// <summary>Always the configured count.</summary>
    Fixed,

    /// <summary>The count whose attack steps measure fastest, between one and the configured count (the default).</summary>
    Adaptive,

    /// <summary>A different count at every attack step: a check that results do not depend on the count.</summary>
    Alternate,
}
