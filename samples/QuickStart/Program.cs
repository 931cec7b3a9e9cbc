// AdaptSharp quick start: robustify a pretrained ViT by prompt tuning (ADAPT-CE), then evaluate it honestly.
// Run: dotnet run --project samples/QuickStart -c Release   (needs Fashion-MNIST: apt-get install dataset-fashion-mnist)
using AdaptSharp.Attacks;
using AdaptSharp.Checkpoints;
using AdaptSharp.Data;
using AdaptSharp.Evaluation;
using AdaptSharp.Training;
using static TorchSharp.torch;

var backbone = Path.Combine(AppContext.BaseDirectory, "assets", "vit-fmnist-cpu-d8.safetensors");
var data = DatasetSpec.Parse("fashion-mnist");
var output = args.Length > 0 ? args[0] : Directory.CreateTempSubdirectory("adapt-quickstart-").FullName;
var promptFile = Path.Combine(output, "prompts.safetensors");

// 1. Tune deep prompts (4 tokens per block) + head + patch embedding with ADAPT-CE: the inner PGD attacks the
//    model through its prompts. A tiny budget here: 4 batches of 32 images.
var recipe = TrainingRecipe.FashionMnistCpu with
{
    Method = ObjectiveKind.AdaptCe,
    Prompts = "deep:4",
    Trainable = "head,patch",
    Epochs = 1,
    BatchSize = 32,
    EvalPoints = 16,
};
var tuned = TrainingJob.Run(new TrainingJobSpec
{
    BackbonePath = backbone,
    Data = data,
    Recipe = recipe,
    TrainLimit = 128,
    Device = "cpu",
    OutputPath = promptFile,
    RunDirectory = Path.Combine(output, "run"),
});
Console.WriteLine($"tuned {tuned.Parameters.Trainable:N0} of {tuned.Parameters.Total:N0} parameters " +
                  $"({tuned.Parameters.TrainablePercent:F2}%), prompt file {new FileInfo(promptFile).Length / 1024.0:F1} KiB");

// 2. Load the prompt file back onto the same backbone (its fingerprint is checked).
using var loaded = ModelLoader.Load(new ModelRequest(backbone, Preset: null, Prompts: promptFile), CPU);
Console.WriteLine($"loaded {loaded.Source}");

// 3. Evaluate in pixel space at L-inf eps 0.1: clean, adaptive PGD-10 and AutoAttack (standard) on 16 test points.
var (images, labels) = DatasetLoader.LoadEvaluationSet(data, count: 16, loaded.Model.Config.ImageSize, loaded.Model.Config.InChannels);
var evaluator = new RobustnessEvaluator(loaded.Model, new EvaluationOptions
{
    Threat = ThreatModel.LInf(0.1),
    Attacks = AttackSpec.ParseList("clean,pgd10,autoattack"),
    Sources = [AttackSource.Adaptive],
    RunChecks = false,
    Seed = 0,
});
var report = evaluator.Run(images, labels).Report;
foreach (var attack in report.Attacks)
    Console.WriteLine($"{attack.Name,-12} {attack.RobustAccuracy:P1} robust (cumulative {attack.CumulativeRobustAccuracy:P1}), " +
                      $"max perturbation {attack.MaxPerturbation:F4}");
Console.WriteLine($"robust accuracy (worst case over the suite, n={report.N}): {report.RobustAccuracy:P1}");
