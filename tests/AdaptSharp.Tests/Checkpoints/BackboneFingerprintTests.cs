using System.Security.Cryptography;
using System.Text;
using AdaptSharp.Checkpoints;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Checkpoints;

public sealed class BackboneFingerprintTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void MatchesTheDocumentedDefinition()
    {
        using var t = tensor(new float[] { 1f, -2f });
        var bytes = new List<byte>();
        bytes.AddRange(Encoding.UTF8.GetBytes("w\0F32\02\0"));
        bytes.AddRange(BitConverter.GetBytes(8L));
        bytes.AddRange(BitConverter.GetBytes(1f));
        bytes.AddRange(BitConverter.GetBytes(-2f));
        var expected = Convert.ToHexStringLower(SHA256.HashData(bytes.ToArray()));
        Assert.Equal(expected, BackboneFingerprint.Of([new("w", t)]));
        Assert.Equal(64, expected.Length);
        Assert.Equal(expected[..16], BackboneFingerprint.Short(expected));
    }

    [Fact]
    public void FileAndTensorsAgreeAndMetadataIsNotCovered()
    {
        using var a = arange(12, dtype: ScalarType.Float32).reshape(3, 4);
        using var b = tensor(new long[] { 5, 6 });
        var tensors = new Dictionary<string, Tensor> { ["b"] = b, ["a"] = a };
        var plain = temp.File("plain.safetensors");
        var tagged = temp.File("tagged.safetensors");
        SafetensorsWriter.Write(plain, tensors);
        SafetensorsWriter.Write(tagged, tensors, new Dictionary<string, string> { ["x"] = "y" });
        var fingerprint = BackboneFingerprint.Of(tensors);
        Assert.Equal(fingerprint, BackboneFingerprint.OfFile(plain));
        Assert.Equal(fingerprint, BackboneFingerprint.OfFile(tagged));
    }

    [Fact]
    public void ChangesWithValuesNamesShapesAndTypes()
    {
        using var a = arange(6, dtype: ScalarType.Float32);
        var reference = BackboneFingerprint.Of([new("a", a)]);
        using var tweaked = a.clone();
        tweaked[5] = tensor(5.0001f);
        using var reshaped = a.reshape(2, 3);
        using var wider = a.to_type(ScalarType.Float64);
        Assert.NotEqual(reference, BackboneFingerprint.Of([new("a", tweaked)]));
        Assert.NotEqual(reference, BackboneFingerprint.Of([new("b", a)]));
        Assert.NotEqual(reference, BackboneFingerprint.Of([new("a", reshaped)]));
        Assert.NotEqual(reference, BackboneFingerprint.Of([new("a", wider)]));
        Assert.Equal(reference, BackboneFingerprint.Of([new("a", a.clone())]));
    }
}
