namespace AdaptSharp.Fuzzing;

/// <summary>
/// One reader of untrusted bytes: valid seed files, the file name the bytes are written under, the parse, and the
/// typed exception that is its only allowed failure. <see cref="Parse"/> returns the bytes of tensor/pixel memory
/// the reader allocated natively, so the harness can check that no allocation exceeds the actual input.
/// </summary>
public sealed record FuzzTarget(
    string Name,
    string FileName,
    IReadOnlyList<byte[]> Seeds,
    Func<string, long> Parse,
    Type FailureType,
    IReadOnlyList<byte[]> Tokens,
    bool GzipInner = false);
