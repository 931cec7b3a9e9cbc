using System.Text.Json;
using AdaptSharp.Checkpoints;
using AdaptSharp.Cli;
using AdaptSharp.Evaluation;
using AdaptSharp.Models;
using AdaptSharp.Tests.Data;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Evaluation;

public class EvalCommandTests
{
    [Fact]
    public void EvalWritesReportFromBackboneAndPromptFilesAndResumes()
    {
        var dataDir = DataFiles.IdxDataset(trainCount: 4, testCount: 12, gzip: false, size: 8);
        var work = EvaluationFixtures.TempDirectory();
        try
        {
            using var model = new VisionTransformer(EvaluationFixtures.TinyConfig with { NumClasses = 10 }, PromptConfig.Parse("deep:2"), seed: 4);
            using (no_grad())
                model.PromptTokens!.mul_(30.0);
            var backbone = Path.Combine(work, "backbone.safetensors");
            var prompts = Path.Combine(work, "prompts.safetensors");
            var fingerprint = BackboneFile.Save(backbone, model);
            PromptFile.Save(prompts, model, new PromptFileInfo { BackboneFingerprint = fingerprint, Method = "test" });
            var outDir = Path.Combine(work, "eval");
            string[] args =
            [
                "eval", "--backbone", backbone, "--prompts", prompts, "--data", $"mnist:{dataDir}", "--limit", "12",
                "--eps", "0.1", "--attacks", "clean,fgsm,pgd3", "--source", "both", "--batch-size", "6",
                "--check-points", "6", "--eps-sweep", "0,0.1", "--out", outDir, "--device", "cpu",
            ];

            Assert.Equal(0, Program.Main(args));
            foreach (var f in new[] { ReportWriter.ReportFile, ReportWriter.FlagsFile, ReportWriter.MarkdownFile, ReportWriter.BarChartFile, ReportWriter.EpsCurveFile })
                Assert.True(File.Exists(Path.Combine(outDir, f)), f);
            var saved = ReportWriter.TryLoad(outDir)!;
            Assert.True(saved.Report.Complete);
            Assert.Equal(12, saved.Report.N);
            Assert.Equal(fingerprint, saved.Report.ModelFingerprint); // only prompts were loaded on top of the backbone
            Assert.Equal(ModelFingerprint.Prompts(model), saved.Report.PromptFingerprint);
            Assert.Equal("mnist:" + dataDir, saved.Report.Data);
            using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, ReportWriter.ReportFile))))
                Assert.Equal(5, doc.RootElement.GetProperty("attacks").GetArrayLength());

            // An existing report is not overwritten without --resume; with it, nothing is recomputed.
            Assert.Equal(CliRunner.UserError, Program.Main(args));
            Assert.Equal(0, Program.Main([.. args, "--resume"]));
            var resumed = ReportWriter.TryLoad(outDir)!;
            Assert.Equal(saved.Flags.Values, resumed.Flags.Values);
            Assert.Equal(saved.Report.Attacks.Select(a => a.Seconds), resumed.Report.Attacks.Select(a => a.Seconds));

            Assert.Equal(CliRunner.UserError, Program.Main(["eval", "--backbone", backbone, "--data", $"mnist:{dataDir}", "--attacks", "deepfool", "--out", Path.Combine(work, "x")]));
            Assert.Equal(CliRunner.UserError, Program.Main(["eval", "--backbone", backbone, "--data", $"mnist:{dataDir}", "--source", "sideways", "--out", Path.Combine(work, "x")]));
            Assert.Equal(CliRunner.UserError, Program.Main(["eval", "--backbone", Path.Combine(work, "missing.safetensors"), "--data", $"mnist:{dataDir}", "--out", Path.Combine(work, "x")]));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
