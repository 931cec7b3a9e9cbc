using AdaptSharp.Cluster;

namespace AdaptSharp.Study;

/// <summary>
/// One piece of a study's unfinished work for a worker process: a stage of a run (for AutoAttack, one shard of its
/// batches, or all of them when <see cref="Shard"/> is null), to be started once the units named in
/// <see cref="DependsOn"/> (the run's training) are done. <see cref="Id"/> names it in logs.
/// </summary>
internal sealed record StudyWorkUnit(string Id, StudyRun Run, StudyStage Stage, ShardSpec? Shard, IReadOnlyList<string> DependsOn);
