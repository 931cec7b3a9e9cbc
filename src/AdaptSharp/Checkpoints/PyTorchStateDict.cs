using System.Collections;
using System.Text.RegularExpressions;
using Razorvine.Pickle;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace AdaptSharp.Checkpoints;

/// <summary>
/// Reads a PyTorch state dict (<c>torch.save(model.state_dict(), "model.pth")</c>, the zip format PyTorch writes
/// since 1.6; timm's <c>pytorch_model.bin</c>) into the same name -> tensor map a safetensors backbone gives, through
/// TorchSharp.PyBridge's unpickler.
/// </summary>
/// <remarks>
/// Loading a pickle runs no code here. PyBridge's unpickler (Razorvine.Pickle, a .NET pickle reader with no Python
/// interpreter) only rebuilds tensors (<c>torch._utils._rebuild_tensor_v2</c> from the archive's storage entries),
/// <c>collections.OrderedDict</c> and plain containers; any other global becomes an inert placeholder that refuses
/// construction arguments, so a <c>__reduce__</c> payload (e.g. <c>os.system</c> with a command) fails to load.
/// On top of that, anything in the file that is not a string-keyed tensor is refused.
/// </remarks>
public static partial class PyTorchStateDict
{
    private static readonly string[] Extensions = [".pth", ".pt", ".bin", ".ckpt"];

    /// <summary>True for a PyTorch checkpoint: a zip archive (PyTorch's format), or a .pth/.pt/.bin/.ckpt name.</summary>
    public static bool IsPyTorchFile(string path)
    {
        if (Extensions.Any(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
            return true;
        try
        {
            using var stream = File.OpenRead(path);
            Span<byte> magic = stackalloc byte[4];
            return stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 &&
                   magic[0] == 0x50 && magic[1] == 0x4b && magic[2] == 0x03 && magic[3] == 0x04;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// The file's tensors by name (CPU, as stored; owned by the caller). Anything but a flat map of names to tensors
    /// is refused with a <see cref="CheckpointFormatException"/> that names the file.
    /// </summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        Hashtable table;
        try
        {
            using var stream = File.OpenRead(path);
            table = PyTorchUnpickler.UnpickleStateDict(stream, leaveOpen: false);
        }
        catch (FileNotFoundException e)
        {
            throw CheckpointFormatException.For(path, "file not found", e);
        }
        catch (PickleException e)
        {
            var global = UnsupportedGlobal().Match(e.Message);
            var what = global.Success ? $"would call {global.Groups[1].Value}" : $"asks for something else ({OneLine(e.Message)})";
            throw CheckpointFormatException.For(path,
                $"refused: the pickle {what}; only tensors and dictionaries are loaded, and no code is run", e);
        }
        catch (NotImplementedException e)
        {
            throw CheckpointFormatException.For(path, OneLine(e.Message), e);
        }
        catch (Exception e) when (e is InvalidDataException or InvalidCastException or InvalidOperationException
                                      or IOException or ArgumentException or IndexOutOfRangeException
                                      or System.Runtime.InteropServices.ExternalException)
        {
            throw CheckpointFormatException.For(path, $"is not a readable PyTorch state dict ({OneLine(e.Message)})", e);
        }

        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        string? problem = null;
        foreach (DictionaryEntry entry in table)
        {
            if (entry.Key is not string name)
                problem ??= $"has a non-string key ({entry.Key?.GetType().Name ?? "null"})";
            else if (entry.Value is not Tensor tensor)
                problem ??= $"entry '{name}' is a {Describe(entry.Value)}, not a tensor (expected torch.save(model.state_dict()))";
            else
                state[name] = tensor;
        }
        if (problem is not null || state.Count == 0)
        {
            foreach (var t in state.Values)
                t.Dispose();
            throw CheckpointFormatException.For(path, problem ?? "holds no tensors");
        }
        return state;
    }

    /// <summary>Every tensor's shape (the file is read whole: a state dict has no separate header).</summary>
    public static IReadOnlyDictionary<string, long[]> ReadShapes(string path)
    {
        var state = Read(path);
        try
        {
            return state.ToDictionary(kv => kv.Key, kv => kv.Value.shape, StringComparer.Ordinal);
        }
        finally
        {
            foreach (var t in state.Values)
                t.Dispose();
        }
    }

    private static string Describe(object? value) => value switch
    {
        null => "None",
        Razorvine.Pickle.Objects.ClassDict d => $"Python object {d.ClassName}",
        IDictionary => "dictionary",
        _ => value.GetType().Name,
    };

    [GeneratedRegex(@"\(for ([\w.]+)\)")]
    private static partial Regex UnsupportedGlobal();

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
