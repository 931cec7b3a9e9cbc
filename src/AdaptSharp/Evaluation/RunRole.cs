namespace AdaptSharp.Evaluation;

/// <summary>Why a plan run exists: a suite column, a stage of a cascade, a checklist run or an eps-sweep point.</summary>
public enum RunRole
{
    Column,
    Stage,
    Check,
    Sweep,
}
