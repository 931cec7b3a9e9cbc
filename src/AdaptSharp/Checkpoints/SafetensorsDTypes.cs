using static TorchSharp.torch;

namespace AdaptSharp.Checkpoints;

/// <summary>Names, sizes and TorchSharp equivalents of <see cref="SafetensorsDType"/>.</summary>
internal static class SafetensorsDTypes
{
    /// <summary>Types the reference format defines that AdaptSharp does not handle (named in error messages).</summary>
    private static readonly HashSet<string> KnownButUnsupported =
        new(StringComparer.Ordinal) { "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64", "C128" };

    public static int ElementSize(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F64 or SafetensorsDType.I64 => 8,
        SafetensorsDType.F32 or SafetensorsDType.I32 => 4,
        SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.I16 => 2,
        SafetensorsDType.I8 or SafetensorsDType.U8 or SafetensorsDType.BOOL => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    public static string Name(this SafetensorsDType dtype) => dtype.ToString();

    public static bool IsFloatingPoint(this SafetensorsDType dtype) =>
        dtype is SafetensorsDType.F64 or SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16;

    public static ScalarType ToScalarType(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F64 => ScalarType.Float64,
        SafetensorsDType.F32 => ScalarType.Float32,
        SafetensorsDType.F16 => ScalarType.Float16,
        SafetensorsDType.BF16 => ScalarType.BFloat16,
        SafetensorsDType.I64 => ScalarType.Int64,
        SafetensorsDType.I32 => ScalarType.Int32,
        SafetensorsDType.I16 => ScalarType.Int16,
        SafetensorsDType.I8 => ScalarType.Int8,
        SafetensorsDType.U8 => ScalarType.Byte,
        SafetensorsDType.BOOL => ScalarType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    public static bool TryFromScalarType(ScalarType type, out SafetensorsDType dtype)
    {
        SafetensorsDType? found = type switch
        {
            ScalarType.Float64 => SafetensorsDType.F64,
            ScalarType.Float32 => SafetensorsDType.F32,
            ScalarType.Float16 => SafetensorsDType.F16,
            ScalarType.BFloat16 => SafetensorsDType.BF16,
            ScalarType.Int64 => SafetensorsDType.I64,
            ScalarType.Int32 => SafetensorsDType.I32,
            ScalarType.Int16 => SafetensorsDType.I16,
            ScalarType.Int8 => SafetensorsDType.I8,
            ScalarType.Byte => SafetensorsDType.U8,
            ScalarType.Bool => SafetensorsDType.BOOL,
            _ => null,
        };
        dtype = found ?? default;
        return found.HasValue;
    }

    public static SafetensorsDType FromScalarType(ScalarType type) =>
        TryFromScalarType(type, out var dtype)
            ? dtype
            : throw new ArgumentException($"tensors of type {type} cannot be stored in safetensors by AdaptSharp");

    /// <summary>Parses a header dtype name; the error text says whether the name is unknown or just unsupported.</summary>
    public static bool TryParse(string name, out SafetensorsDType dtype, out string? problem)
    {
        problem = null;
        if (Enum.TryParse(name, ignoreCase: false, out dtype) && Enum.IsDefined(dtype) && dtype.ToString() == name)
            return true;
        problem = KnownButUnsupported.Contains(name)
            ? $"dtype '{name}' is not supported (supported: {SupportedList})"
            : $"unknown dtype '{name}' (supported: {SupportedList})";
        return false;
    }

    private static string SupportedList => string.Join(", ", Enum.GetNames<SafetensorsDType>());
}
