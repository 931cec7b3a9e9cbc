using AdaptSharp.Study;

namespace AdaptSharp.Demo;

/// <summary>Everything the demo report shows: the plan's runs (one per method, in table order) and the backbone.</summary>
internal sealed record DemoResult(
    StudyPlan Plan,
    string Backbone,
    string BackboneSource,
    long BackboneBytes,
    double BackboneCleanAccuracy,
    IReadOnlyList<StudyRunResult> Methods,
    double TotalSeconds,
    string Machine,
    string CreatedUtc);
