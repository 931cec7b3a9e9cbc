using System.Diagnostics;
using AdaptSharp.Attacks;
using AdaptSharp.Checkpoints;
using AdaptSharp.Data;
using AdaptSharp.Evaluation;
using AdaptSharp.Models;
using AdaptSharp.Runtime;
using AdaptSharp.Training;
using static TorchSharp.torch;

namespace AdaptSharp.Demo;

/// <summary>
/// The embedded default: tune prompts on a pretrained backbone with several methods, evaluate all of them on the
/// same test points (clean, prompt-agnostic and adaptive PGD, AutoAttack on the adaptive view), and report.
/// UI-free: the caller supplies how a training job and an evaluation are run (with or without progress bars).
/// </summary>
internal sealed class DemoStudy
{
    public const string PgdAttack = "pgd10";

    private readonly DemoPlan plan;
    private readonly string backbone;
    private readonly DatasetSpec data;
    private readonly string outputDirectory;
    private readonly string device;
    private readonly Action<string> log;

    public DemoStudy(DemoPlan plan, string backbone, DatasetSpec data, string outputDirectory, string device, Action<string>? log = null)
    {
        this.plan = plan;
        this.backbone = backbone;
        this.data = data;
        this.outputDirectory = outputDirectory;
        this.device = device;
        this.log = log ?? (_ => { });
    }

    public static string MethodName(ObjectiveKind kind) => ObjectiveOptions.FormatKind(kind);

    public TrainingRecipe RecipeFor(ObjectiveKind method) => TrainingRecipe.FashionMnistCpu with
    {
        Name = $"demo-{plan.Name}-{MethodName(method)}",
        Description = $"demo ({plan.Name}): {MethodName(method)} prompt tuning at eps {plan.Eps}",
        Method = method,
        Prompts = plan.Prompts,
        Trainable = plan.Trainable,
        Epochs = plan.Epochs,
        BatchSize = plan.BatchSize,
        LearningRate = plan.LearningRate,
        EvalPoints = 0,
        CheckpointEvery = 0,
        Augment = plan.Augment,
        Attack = new InnerAttackOptions(plan.Eps, plan.InnerStep, plan.InnerSteps),
    };

    /// <summary>Runs every method; already finished artifacts and reports in the output folder are reused.</summary>
    public DemoResult Run(
        Func<TrainingJobSpec, TrainingJobResult> train,
        EvaluationDriver evaluate,
        string backboneSource)
    {
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(outputDirectory);
        var threat = ThreatModel.LInf(plan.Eps);
        var results = new List<DemoMethodResult>();
        double backboneClean = double.NaN;

        (Tensor X, Tensor Y)? evaluationSet = null;
        try
        {
            foreach (var method in plan.Methods)
            {
                var name = MethodName(method);
                var promptFile = Path.Combine(outputDirectory, "prompts", $"{name}.safetensors");
                var runDirectory = Path.Combine(outputDirectory, "runs", name);
                var reused = ResumableTuning.Run(new TrainingJobSpec
                {
                    BackbonePath = backbone,
                    Data = data,
                    Recipe = RecipeFor(method),
                    OutputPath = promptFile,
                    RunDirectory = runDirectory,
                    Device = device,
                    Seed = plan.Seed,
                    TrainLimit = plan.TrainImages,
                }, train, name, log);
                // Summed over the run's epochs, so a reused (or resumed) tuning reports the time it took when it ran.
                var trainSeconds = EpochMetrics.TotalSeconds(Path.Combine(runDirectory, Trainer.MetricsFileName));

                using var loaded = ModelLoader.Load(new ModelRequest(backbone, null, Prompts: promptFile), TorchRuntime.ResolveDevice(device));
                var model = loaded.Model;
                var parameters = model.CountParameters(TrainableSets.Parse(plan.Trainable));

                // Every method shares the backbone's input shape: read the test points once.
                evaluationSet ??= LoadEvaluationSet(model);
                var (x, y) = evaluationSet.Value;

                var pgd = CachedEvaluation.Run(Path.Combine(outputDirectory, "eval", name, "pgd"), model, x, y, evaluate, new EvaluationOptions
                {
                    Threat = threat,
                    Attacks = AttackSpec.ParseList($"clean,{PgdAttack}"),
                    Sources = [AttackSource.Adaptive, AttackSource.Agnostic],
                    Seed = plan.Seed,
                    BatchSize = plan.EvalBatchSize,
                    RunChecks = true,
                    CheckPoints = Math.Min(200, plan.EvalPoints),
                    Data = data.ToString(),
                    ModelName = $"{model.Config.Name} + {name} prompts",
                }, $"{name}: clean + PGD-10 (agnostic, adaptive), n={plan.EvalPoints}", log);

                var m = Math.Min(plan.AutoAttackPoints, plan.EvalPoints);
                using var xa = x.narrow(0, 0, m);
                using var ya = y.narrow(0, 0, m);
                var autoAttack = CachedEvaluation.Run(Path.Combine(outputDirectory, "eval", name, "autoattack"), model, xa, ya, evaluate, new EvaluationOptions
                {
                    Threat = threat,
                    Attacks = AttackSpec.ParseList("clean,autoattack"),
                    Sources = [AttackSource.Adaptive],
                    Seed = plan.Seed,
                    BatchSize = plan.EvalBatchSize,
                    RunChecks = false,
                    Data = data.ToString(),
                    ModelName = $"{model.Config.Name} + {name} prompts",
                }, $"{name}: AutoAttack standard (adaptive), n={m}", log);

                if (double.IsNaN(backboneClean))
                    backboneClean = BackboneCleanAccuracy(x, y);
                results.Add(new DemoMethodResult(name, promptFile, new FileInfo(promptFile).Length, parameters, trainSeconds, pgd.Report, autoAttack.Report, reused));
            }

        }
        finally
        {
            evaluationSet?.X.Dispose();
            evaluationSet?.Y.Dispose();
        }

        return new DemoResult(plan, backbone, backboneSource, new FileInfo(backbone).Length, backboneClean, results,
            clock.Elapsed.TotalSeconds, MachineDescription.Describe(), DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'"));
    }

    private (Tensor X, Tensor Y) LoadEvaluationSet(VisionTransformer model) =>
        DatasetLoader.LoadEvaluationSet(data, plan.EvalPoints, model.Config.ImageSize, model.Config.InChannels, model.parameters().First().device);

    /// <summary>Clean accuracy of the backbone file alone: f_0 of a tuned model carries the tuned head and patch embedding.</summary>
    private double BackboneCleanAccuracy(Tensor x, Tensor y)
    {
        using var plain = ModelLoader.Load(new ModelRequest(backbone, null), TorchRuntime.ResolveDevice(device));
        using var _ = no_grad();
        long correct = 0;
        for (long start = 0; start < x.shape[0]; start += plan.EvalBatchSize)
        {
            using var scope = NewDisposeScope();
            var n = Math.Min(plan.EvalBatchSize, x.shape[0] - start);
            correct += plain.Model.forward(x.narrow(0, start, n)).argmax(1).eq(y.narrow(0, start, n)).sum().item<long>();
        }
        return (double)correct / x.shape[0];
    }
}
