namespace AdaptSharp.Demo;

/// <summary>Everything the demo report shows.</summary>
internal sealed record DemoResult(
    DemoPlan Plan,
    string Backbone,
    string BackboneSource,
    long BackboneBytes,
    double BackboneCleanAccuracy,
    IReadOnlyList<DemoMethodResult> Methods,
    double TotalSeconds,
    string Machine,
    string CreatedUtc);
