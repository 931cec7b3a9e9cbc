using System.Buffers.Binary;

namespace AdaptSharp.Fuzzing;

/// <summary>One byte-level edit. Positions and lengths are taken modulo the current input so every edit applies.</summary>
public readonly record struct Mutation(int Kind, int Position, int Length, int Value)
{
    public const int Kinds = 9;

    private static readonly ulong[] Interesting =
        [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x7FFF_FFFF_FFFF_FFFF, ulong.MaxValue, 1UL << 40, 100_000_001];

    public override string ToString() => (Kind switch
    {
        0 => "flip bit",
        1 => "set byte",
        2 => "set interesting",
        3 => "delete",
        4 => "insert",
        5 => "duplicate",
        6 => "truncate",
        7 => "insert token",
        _ => "replace with token",
    }) + $" at {Position} len {Length} value {Value}";

    public byte[] Apply(byte[] input, IReadOnlyList<byte[]> tokens)
    {
        var bytes = new List<byte>(input);
        var n = bytes.Count;
        var at = n == 0 ? 0 : Position % n;
        var length = 1 + Length % 64;
        switch (Kind)
        {
            case 0 when n > 0:
                bytes[at] ^= (byte)(1 << (Value & 7));
                break;
            case 1 when n > 0:
                bytes[at] = (byte)Value;
                break;
            case 2 when n > 0:
                {
                    Span<byte> buffer = stackalloc byte[8];
                    var value = Interesting[Value % Interesting.Length];
                    var width = new[] { 1, 2, 4, 8 }[(Value >> 4) & 3];
                    if (((Value >> 6) & 1) == 0) BinaryPrimitives.WriteUInt64LittleEndian(buffer, value);
                    else BinaryPrimitives.WriteUInt64BigEndian(buffer, value << (8 * (8 - width)));
                    for (var i = 0; i < width && at + i < n; i++) bytes[at + i] = buffer[i];
                    break;
                }
            case 3 when n > 0:
                bytes.RemoveRange(at, Math.Min(length, n - at));
                break;
            case 4:
                var fill = Value;
                bytes.InsertRange(at, Enumerable.Range(0, length).Select(i => (byte)(fill + i * 31)));
                break;
            case 5 when n > 0:
                bytes.InsertRange(at, bytes.GetRange(at, Math.Min(length, n - at)));
                break;
            case 6:
                bytes.RemoveRange(at, n - at);
                break;
            case 7 when tokens.Count > 0:
                bytes.InsertRange(at, tokens[Value % tokens.Count]);
                break;
            case 8 when tokens.Count > 0 && n > 0:
                {
                    var token = tokens[Value % tokens.Count];
                    bytes.RemoveRange(at, Math.Min(token.Length, n - at));
                    bytes.InsertRange(at, token);
                    break;
                }
        }
        return bytes.ToArray();
    }
}
