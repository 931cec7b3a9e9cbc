namespace AdaptSharp.Training;

/// <summary>Learning-rate schedule shapes offered by the trainer.</summary>
public enum ScheduleKind
{
    /// <summary>The paper's triangular one-cycle: 0 -> max at the peak -> 0, updated every step.</summary>
    OneCycle,
    /// <summary>Linear warm-up to max, then cosine decay to 0.</summary>
    Cosine,
    /// <summary>Constant max, multiplied by a factor at each drop point.</summary>
    Drops,
    Constant,
}
