using System.CommandLine;
using AdaptSharp.Checkpoints;
using AdaptSharp.Evaluation;
using AdaptSharp.Runtime;
using Spectre.Console;
using static TorchSharp.torch;

namespace AdaptSharp.Cli.Commands;

public static class PredictCommand
{
    public static Command Create()
    {
        var command = new Command("predict", "Run a model on images (.npy float NCHW in [0,1], or a folder of PNG/JPEG) and write logits as .npy.");
        var backbone = CommonOptions.Backbone();
        var model = CommonOptions.Model();
        var imageSize = CommonOptions.ImageSize();
        var classes = CommonOptions.Classes();
        var prompts = new Option<string>("--prompts") { Description = "Prompt file (or layout deep:T/shallow:T for untrained prompts)", DefaultValueFactory = _ => "none" };
        var input = new Option<string>("--input") { Description = "Input .npy (N,C,H,W float in [0,1] or uint8) or a folder of images", Required = true };
        var noPrompts = new Option<bool>("--no-prompts") { Description = "Run f_0: the same weights without prompts" };
        var output = new Option<string>("--out") { Description = "Output logits .npy (N,K float32)", DefaultValueFactory = _ => "logits.npy" };
        var batchSize = new Option<int>("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 256 };
        var device = CommonOptions.Device();
        foreach (var o in new Option[] { backbone, model, imageSize, classes, prompts, input, noPrompts, output, batchSize, device })
            command.Options.Add(o);
        command.SetAction(result =>
        {
            TorchRuntime.ConfigureThreads();
            using var loaded = ModelLoading.Load(result.GetValue(backbone), result.GetValue(model), result.GetValue(imageSize),
                result.GetValue(classes), result.GetValue(prompts)!, result.GetValue(device)!);
            var vit = loaded.Model;
            var (images, names) = ImageInputs.Read(result.GetValue(input)!, vit.Config, note => Console.Error.WriteLine($"adapt: note: {note}"));
            using var _ = images;
            var usePrompts = !result.GetValue(noPrompts);
            var size = Math.Max(1, result.GetValue(batchSize));
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
            NpyFile.Write(result.GetValue(output)!, all);
            using var predicted = all.argmax(1);
            var counts = predicted.data<long>().ToArray().GroupBy(c => c).OrderBy(g => g.Key).Select(g => $"{g.Key}:{g.Count()}");
            AnsiConsole.WriteLine($"{names.Count} image(s), model {loaded.Source}, {(!vit.HasPrompts ? "no prompts" : usePrompts ? "f_P (with prompts)" : "f_0 (prompts ignored)")}");
            AnsiConsole.WriteLine($"predicted classes: {string.Join(" ", counts)}");
            AnsiConsole.WriteLine($"wrote {result.GetValue(output)} ({all.shape[0]}x{all.shape[1]} float32 logits)");
            return 0;
        });
        return command;
    }
}
