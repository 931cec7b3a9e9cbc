using System.Security.Cryptography;
using System.Text;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Evaluation;

/// <summary>
/// Content hashes that identify what was evaluated: SHA-256 (hex) over each tensor's name, dtype, shape and
/// raw bytes in name order. The backbone hash leaves the prompts out, so one backbone with several prompt
/// sets has one backbone fingerprint.
/// </summary>
public static class ModelFingerprint
{
    public static string Backbone(VisionTransformer model) =>
        Hash(model.state_dict().Where(kv => kv.Key != VisionTransformer.PromptParameterName));

    /// <summary>Null when the model has no prompts.</summary>
    public static string? Prompts(VisionTransformer model) =>
        model.PromptTokens is { } p ? Hash([new(VisionTransformer.PromptParameterName, p)]) : null;

    public static string Hash(IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, tensor) in tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            sha.AppendData(Encoding.UTF8.GetBytes($"{name}|{tensor.dtype}|{string.Join(",", tensor.shape)}\n"));
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var host = tensor.detach().to(CPU).contiguous();
            sha.AppendData(host.bytes);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
