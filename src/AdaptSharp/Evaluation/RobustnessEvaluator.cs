using AdaptSharp.Attacks;
using AdaptSharp.Models;
using static TorchSharp.torch;

namespace AdaptSharp.Evaluation;

/// <summary>
/// The evaluation runner on a <see cref="VisionTransformer"/>: it plans the evaluation (<see cref="EvalPlan"/>) and has
/// the engine (<see cref="PlanExecutor"/>, which <see cref="AutoAttack"/> runs on too) execute it batch by batch on its
/// views: every run attacks the points still robust where its plan says so, generates on its source's view (f_P adaptive,
/// f_0 prompt-agnostic, a surrogate or the surrogates' ensemble for a transfer) and scores on f_P; every adversarial batch
/// is checked by the run's <see cref="ThreatModel"/> before it counts. Each batch gets a seed derived from (seed, run's
/// seed key, batch index), so a resumed (or sharded) run redoes exactly the same work. The state is checkpointed after
/// every batch and resumes by run key and spec; cancellation is honoured between batches.
/// </summary>
public sealed class RobustnessEvaluator
{
    private readonly VisionTransformer model;
    private readonly EvaluationOptions options;
    private readonly IReadOnlyList<SurrogateModel> surrogates;
    private readonly Dictionary<string, ModelView> transferViews;

    /// <param name="surrogates">The surrogates named by <see cref="EvaluationOptions.Surrogates"/>, in that order (their
    /// input size may differ from the model's; see <see cref="SurrogateModel"/>).</param>
    public RobustnessEvaluator(VisionTransformer model, EvaluationOptions options, IReadOnlyList<SurrogateModel>? surrogates = null)
    {
        options.Validate();
        surrogates ??= [];
        if (!surrogates.Select(s => s.Name).SequenceEqual(options.Surrogates))
            throw new ArgumentException($"the surrogates given ({string.Join(", ", surrogates.Select(s => s.Name).DefaultIfEmpty("none"))}) " +
                                        $"are not the ones the options name ({string.Join(", ", options.Surrogates.DefaultIfEmpty("none"))})");
        this.model = model;
        this.options = options;
        this.surrogates = surrogates;
        transferViews = SurrogateEnsemble.Sources(surrogates).ToDictionary(v => v.Name[AttackSources.TransferPrefix.Length..]);
    }

    /// <summary>The plan this evaluator runs on <paramref name="n"/> points of <paramref name="pixelsPerImage"/> values.</summary>
    public EvalPlan Plan(int n, long pixelsPerImage) => EvalPlanner.Build(options, n, model.HasPrompts, pixelsPerImage);

    /// <summary>
    /// Evaluates <paramref name="images"/> (N,C,H,W in [0,1], any device) with <paramref name="labels"/> (N).
    /// <paramref name="resume"/>: an earlier state of the same model, data, seed, threat model, batch size and plan;
    /// its finished batches are kept. <paramref name="checkpoint"/> gets the state after every batch (write it to
    /// disk to make the run resumable).
    /// </summary>
    public EvaluationResult Run(Tensor images, Tensor labels, Action<EvaluationProgress>? progress = null,
        EvaluationResult? resume = null, Action<EvaluationResult>? checkpoint = null, CancellationToken cancellationToken = default)
    {
        if (images.dim() != 4)
            throw new ArgumentException($"images must be (N,C,H,W), got [{string.Join(",", images.shape)}]");
        if (labels.dim() != 1 || labels.shape[0] != images.shape[0])
            throw new ArgumentException($"labels must be (N) with N = {images.shape[0]}, got [{string.Join(",", labels.shape)}]");
        var n = checked((int)images.shape[0]);
        if (n == 0)
            throw new ArgumentException("no evaluation points");

        var plan = Plan(n, images.numel() / n);
        var state = new EvaluationState(plan, new RobustnessReport
        {
            Model = options.ModelName ?? model.Config.Name,
            ModelFingerprint = ModelFingerprint.Backbone(model),
            PromptFingerprint = ModelFingerprint.Prompts(model),
            Prompts = model.PromptConfig.ToString(),
            Data = options.Data,
            Split = options.Split,
            N = n,
            Seed = options.Seed,
            Threat = options.Threat,
            BatchSize = options.BatchSize,
            Surrogates = surrogates.Select(s => new SurrogateIdentity(s.Name, ModelFingerprint.Backbone(s.Model), ModelFingerprint.Prompts(s.Model))).ToList(),
            Shard = options.Shard?.ToString(),
        }, options.Thresholds);
        if (resume is not null)
            state.Adopt(resume, (same, what) =>
            {
                if (!same) throw new ArgumentException($"cannot resume: the {what} differs from the saved run's");
            });

        var wasTraining = model.training;
        var gradientFlags = model.parameters().Select(p => (Parameter: p, p.requires_grad)).ToList();
        try
        {
            model.eval();
            foreach (var (p, _) in gradientFlags)
                p.requires_grad_(false);
            var executor = new PlanExecutor(model.Prompted, GeneratingView, model.parameters().First().device, options.BatchSize, options.Seed, options.Shard);
            var stages = plan.Runs.Count + (options.RunChecks ? 1 : 0);
            for (var i = 0; i < plan.Runs.Count; i++)
            {
                var run = plan.Runs[i];
                var flags = state.Flags[run.Key].Take(run.Points);
                var label = run.Role == RunRole.Column ? run.Key : $"{run.Key}: {run.Spec}/{run.SourceName}";
                var total = executor.PointsInShard(run.Points, n);
                void Report()
                {
                    var done = flags.Count(v => v != RobustFlags.NotDone);
                    var robust = flags.Count(v => v == 1);
                    progress?.Invoke(new EvaluationProgress(label, i, stages, done, total, done == 0 ? 0.0 : (double)robust / done));
                }
                Report();
                executor.Execute(run, state, images, labels, () =>
                {
                    Report();
                    checkpoint?.Invoke(state.Snapshot(complete: false));
                }, cancellationToken);
            }
            var checkPoints = Math.Min(options.CheckPoints, n);
            if (options.RunChecks && (state.Gradients is null || state.Gradients.Points != executor.PointsInShard(checkPoints, n)))
            {
                cancellationToken.ThrowIfCancellationRequested();
                state.Gradients = executor.MeasureGradients(model.Prompted, images, labels, checkPoints, n);
                checkpoint?.Invoke(state.Snapshot(complete: false));
            }
        }
        finally
        {
            foreach (var (p, requiresGrad) in gradientFlags)
                p.requires_grad_(requiresGrad);
            model.train(wasTraining);
        }

        var result = state.Snapshot(complete: true);
        checkpoint?.Invoke(result);
        return result;
    }

    /// <summary>Generates on the view of the run's source: f_P adaptive, f_0 prompt-agnostic, a surrogate for a transfer.</summary>
    private ModelView GeneratingView(PlanRun run) => run.Source switch
    {
        // a transfer never queries f_P, not even in a black-box stage of a cascade
        AttackSource.Transfer => transferViews[run.Surrogate ?? throw new InvalidOperationException($"transfer run '{run.Key}' names no surrogate")],
        AttackSource.Agnostic when run.Spec.IsWhiteBox => model.Unprompted,
        _ => model.Prompted,
    };

    /// <summary>A per-(run, batch) seed: stable across runs, processes and shards; adaptive and agnostic share it.</summary>
    public static long DeriveSeed(long seed, string key, int batch)
    {
        var h = 14695981039346656037UL;
        foreach (var ch in key)
        {
            h ^= ch;
            h *= 1099511628211UL;
        }
        return (long)(Data.DeterministicRandom.Mix(unchecked((ulong)seed) ^ h ^ (0x9E3779B97F4A7C15UL * (ulong)(batch + 1))) >> 1);
    }
}
