namespace AdaptSharp.Evaluation;

/// <summary>
/// Per-point robust flags, N points x C suite columns, row-major: 1 = correctly classified by f_P under
/// that column's attack, 0 = fooled (or misclassified clean), -1 = not evaluated yet (partial runs only).
/// Stored as flags.npy (int8).
/// </summary>
public sealed class RobustFlags
{
    public const sbyte NotDone = -1;

    public RobustFlags(int points, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(points);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        Points = points;
        Columns = columns;
        Values = new sbyte[(long)points * columns];
        Array.Fill(Values, NotDone);
    }

    public RobustFlags(int points, int columns, sbyte[] values)
    {
        if (values.LongLength != (long)points * columns)
            throw new ArgumentException($"flags hold {values.LongLength} values, expected {points} x {columns}");
        if (values.Any(v => v is < NotDone or > 1))
            throw new ArgumentException("flags must be -1 (not done), 0 or 1");
        Points = points;
        Columns = columns;
        Values = values;
    }

    public int Points { get; }

    public int Columns { get; }

    /// <summary>Row-major (point, column) values.</summary>
    public sbyte[] Values { get; }

    public sbyte this[int point, int column]
    {
        get => Values[(long)point * Columns + column];
        set => Values[(long)point * Columns + column] = value;
    }
}
