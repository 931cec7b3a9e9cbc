namespace AdaptSharp.Evaluation;

/// <summary>
/// Progress of one evaluation stage (a suite column, a checklist run or a sweep point): points done of total
/// and the robust accuracy over the points done so far.
/// </summary>
public sealed record EvaluationProgress(string Stage, int StageIndex, int StageCount, int PointsDone, int PointsTotal, double RobustAccuracy);
