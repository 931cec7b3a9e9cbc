namespace AdaptSharp.Checkpoints;

/// <summary>Element types of the safetensors format that AdaptSharp reads and writes (all little-endian).</summary>
public enum SafetensorsDType
{
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    BOOL,
}
