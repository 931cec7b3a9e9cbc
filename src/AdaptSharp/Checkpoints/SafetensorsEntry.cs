namespace AdaptSharp.Checkpoints;

/// <summary>One tensor of a safetensors header. Offsets are relative to the start of the data section.</summary>
public sealed record SafetensorsEntry(string Name, SafetensorsDType DType, long[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;

    public long ElementCount => Shape.Aggregate(1L, (n, d) => checked(n * d));

    public string ShapeText => "[" + string.Join(",", Shape) + "]";
}
