using System.CommandLine;
using AdaptSharp.Checkpoints;
using AdaptSharp.Data;
using AdaptSharp.IO;
using AdaptSharp.Runtime;
using Spectre.Console;
using static TorchSharp.torch;

namespace AdaptSharp.Cli.Commands;

internal static class PredictCommand
{
    public static Command Create()
    {
        var command = new Command("predict", "Run a model on images (.npy float NCHW in [0,1], or a folder of PNG/JPEG) and write logits as .npy.");
        var model = new ModelOptions();
        var input = new Option<string>("--input") { Description = "Input .npy (N,C,H,W float in [0,1] or uint8) or a folder of images", Required = true };
        var noPrompts = new Option<bool>("--no-prompts") { Description = "Run f_0: the same weights without prompts" };
        var output = new Option<string>("--out") { Description = "Output logits .npy (N,K float32)", DefaultValueFactory = _ => "logits.npy" };
        var batchSize = new Option<int>("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 256 }.Between(1, 1 << 20);
        var force = CommonOptions.Force();
        var device = CommonOptions.Device();
        command.With([.. model.All, input, noPrompts, output, batchSize, force, device]);
        command.SetAction(result =>
        {
            var outPath = result.GetValue(output)!;
            OutputGuard.CheckFile(outPath, "--out",
                [("--backbone", result.GetValue(model.Backbone)), ("--prompts", result.GetValue(model.Prompts)), ("--input", result.GetValue(input))],
                result.GetValue(force));
            TorchRuntime.ConfigureThreads();
            using var loaded = model.Load(result, result.GetValue(device)!, ModelUse.Inference);
            var vit = loaded.Model;
            var (images, names) = ImageInputs.Read(result.GetValue(input)!, vit.Config, note => Console.Error.WriteLine($"adapt: note: {note}"));
            using var _ = images;
            var usePrompts = !result.GetValue(noPrompts);
            var size = result.GetValue(batchSize);
            var parts = new List<Tensor>();
            var dev = vit.parameters().First().device;
            using (no_grad())
            {
                for (long start = 0; start < images.shape[0]; start += size)
                {
                    using var scope = NewDisposeScope();
                    var n = Math.Min(size, images.shape[0] - start);
                    var logits = vit.Forward(images.narrow(0, start, n).to(dev), usePrompts).cpu();
                    parts.Add(logits.MoveToOuterDisposeScope());
                }
            }
            using var all = cat(parts, 0);
            foreach (var p in parts) p.Dispose();
            var nonFinite = all.isfinite().logical_not().sum().item<long>();
            if (nonFinite > 0)
                throw new InvalidDataException($"the model produced {nonFinite} non-finite logit(s) (NaN or infinity) on {result.GetValue(input)}: its weights are unusable; nothing written");
            NpyFile.Write(outPath, all);
            using var predicted = all.argmax(1);
            var counts = predicted.data<long>().ToArray().GroupBy(c => c).OrderBy(g => g.Key).Select(g => $"{g.Key}:{g.Count()}");
            AnsiConsole.WriteLine($"{names.Count} image(s), model {loaded.Source}, {(!vit.HasPrompts ? "no prompts" : usePrompts ? "f_P (with prompts)" : "f_0 (prompts ignored)")}");
            AnsiConsole.WriteLine($"predicted classes: {string.Join(" ", counts)}");
            AnsiConsole.WriteLine($"wrote {outPath} ({all.shape[0]}x{all.shape[1]} float32 logits)");
            return 0;
        });
        return command;
    }
}
